// Maps the claims of a generic OpenID Connect provider to the social_user_v0 traits.
// Only a verified email address is taken, to avoid account takeover through unverified addresses.
local claims = std.extVar('claims');
local verified = std.objectHas(claims, 'email_verified') && claims.email_verified;
local pick(name) = if std.objectHas(claims, name) then { [name]: claims[name] } else {};

{
  identity: {
    traits: (if std.objectHas(claims, 'email') && verified then { email: claims.email } else {})
            + pick('name') + pick('given_name') + pick('family_name') + pick('middle_name')
            + pick('nickname') + pick('preferred_username') + pick('locale') + pick('zoneinfo'),
  },
}
