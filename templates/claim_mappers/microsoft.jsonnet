// Maps Microsoft Entra ID claims to the social_user_v0 traits. Entra ID does not send
// email_verified: its `email` claim (or the user principal name) is trusted as the tenant's.
local claims = std.extVar('claims');
local raw = if std.objectHas(claims, 'raw_claims') then claims.raw_claims else {};
local email =
  if std.objectHas(claims, 'email') then claims.email
  else if std.objectHas(raw, 'upn') then raw.upn
  else if std.objectHas(raw, 'preferred_username') then raw.preferred_username
  else null;

{
  identity: {
    traits: (if email != null then { email: email } else {})
            + (if std.objectHas(claims, 'name') then { name: claims.name } else {})
            + (if std.objectHas(claims, 'given_name') then { given_name: claims.given_name } else {})
            + (if std.objectHas(claims, 'family_name') then { family_name: claims.family_name } else {}),
  },
}
