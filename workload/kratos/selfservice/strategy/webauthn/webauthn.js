// WebAuthn and passkey ceremonies for self-service UIs, served at /.well-known/ory/webauthn.js.
// The trigger nodes name these functions (onclickTrigger / onloadTrigger); each reads the options
// from a node, runs navigator.credentials, writes the JSON result into a hidden input and submits
// that input's form.
;(function () {
  "use strict"

  if (typeof window === "undefined" || window.__oryWebAuthnInitialized) {
    return
  }
  if (!window.PublicKeyCredential) {
    console.log("This browser does not support WebAuthn!")
    return
  }

  // base64url (with or without padding) to bytes, and bytes to unpadded base64url.
  function fromBase64URL(text) {
    const plain = text.replace(/-/g, "+").replace(/_/g, "/")
    const binary = atob(plain + "===".slice((plain.length + 3) % 4))
    const out = new Uint8Array(binary.length)
    for (let i = 0; i < binary.length; i++) {
      out[i] = binary.charCodeAt(i)
    }
    return out
  }

  function toBase64URL(buffer) {
    const bytes = new Uint8Array(buffer || new ArrayBuffer(0))
    let binary = ""
    for (let i = 0; i < bytes.length; i++) {
      binary += String.fromCharCode(bytes[i])
    }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")
  }

  function decodeDescriptors(list) {
    return (list || []).map(function (descriptor) {
      return Object.assign({}, descriptor, { id: fromBase64URL(descriptor.id) })
    })
  }

  // Turns the JSON options a node carries into what navigator.credentials expects.
  function creationOptions(options) {
    const publicKey = options.publicKey
    publicKey.challenge = fromBase64URL(publicKey.challenge)
    publicKey.user.id = fromBase64URL(publicKey.user.id)
    if (publicKey.excludeCredentials) {
      publicKey.excludeCredentials = decodeDescriptors(publicKey.excludeCredentials)
    }
    return options
  }

  function requestOptions(options) {
    const publicKey = options.publicKey
    publicKey.challenge = fromBase64URL(publicKey.challenge)
    if (publicKey.user && publicKey.user.id) {
      publicKey.user.id = fromBase64URL(publicKey.user.id)
    }
    if (publicKey.allowCredentials) {
      publicKey.allowCredentials = decodeDescriptors(publicKey.allowCredentials)
    }
    return options
  }

  function attestationJSON(credential) {
    return JSON.stringify({
      id: credential.id,
      rawId: toBase64URL(credential.rawId),
      type: credential.type,
      response: {
        attestationObject: toBase64URL(credential.response.attestationObject),
        clientDataJSON: toBase64URL(credential.response.clientDataJSON),
      },
    })
  }

  function assertionJSON(credential) {
    return JSON.stringify({
      id: credential.id,
      rawId: toBase64URL(credential.rawId),
      type: credential.type,
      response: {
        authenticatorData: toBase64URL(credential.response.authenticatorData),
        clientDataJSON: toBase64URL(credential.response.clientDataJSON),
        signature: toBase64URL(credential.response.signature),
        userHandle: toBase64URL(credential.response.userHandle),
      },
    })
  }

  function submitWith(resultEl, value) {
    resultEl.value = value
    resultEl.closest("form").submit()
  }

  function byName(name) {
    return document.getElementsByName(name)[0]
  }

  function optionsFrom(options, triggerEl) {
    return options || JSON.parse(triggerEl.value)
  }

  // Security key sign-in (webauthn method); options default to the trigger's value.
  function webAuthnLogin(
    options,
    resultQuerySelector = '*[name="webauthn_login"]',
    triggerQuerySelector = '*[name="webauthn_login_trigger"]',
  ) {
    const triggerEl = document.querySelector(triggerQuerySelector)
    const opts = requestOptions(optionsFrom(options, triggerEl))
    navigator.credentials
      .get(opts)
      .then(function (credential) {
        document.querySelector(resultQuerySelector).value = assertionJSON(credential)
        triggerEl.closest("form").submit()
      })
      .catch(function (err) {
        alert(err)
      })
  }

  // Security key registration (webauthn method, registration and settings).
  function webAuthnRegistration(
    options,
    resultQuerySelector = '*[name="webauthn_register"]',
    triggerQuerySelector = '*[name="webauthn_register_trigger"]',
  ) {
    const triggerEl = document.querySelector(triggerQuerySelector)
    const opts = creationOptions(optionsFrom(options, triggerEl))
    navigator.credentials
      .create(opts)
      .then(function (credential) {
        document.querySelector(resultQuerySelector).value = attestationJSON(credential)
        triggerEl.closest("form").submit()
      })
      .catch(function (err) {
        alert(err)
      })
  }

  function abortConditionalUI() {
    if (window.abortPasskeyConditionalUI) {
      window.abortPasskeyConditionalUI.abort(
        "Canceling Passkey autocomplete to complete trigger-based passkey login.",
      )
      window.abortPasskeyConditionalUI = undefined
    }
  }

  // Offers passkeys in the identifier field's autofill (conditional mediation) where supported.
  async function passkeyLoginAutocompleteInit() {
    const dataEl = byName("passkey_challenge")
    const resultEl = byName("passkey_login")
    const identifierEl = byName("identifier")
    if (!dataEl || !resultEl || !identifierEl) {
      console.error("Unable to initialize passkey autocomplete: a required form field is missing.")
      return
    }
    if (!PublicKeyCredential.isConditionalMediationAvailable || window.Cypress) {
      console.log("This browser does not support Passkey / WebAuthn autocomplete!")
      return
    }
    if (!(await PublicKeyCredential.isConditionalMediationAvailable())) {
      console.log("This browser does not support WebAuthn Conditional Mediation!")
      return
    }
    const opts = requestOptions(JSON.parse(dataEl.value))
    abortConditionalUI()
    const controller = new AbortController()
    window.abortPasskeyConditionalUI = controller
    navigator.credentials
      .get({ publicKey: opts.publicKey, mediation: "conditional", signal: controller.signal })
      .then(function (credential) {
        submitWith(resultEl, assertionJSON(credential))
      })
      .catch(function (err) {
        console.log(err)
      })
  }

  // Passkey sign-in started by the "Sign in with passkey" button.
  function passkeyLogin() {
    const dataEl = byName("passkey_challenge")
    const resultEl = byName("passkey_login")
    if (!dataEl || !resultEl) {
      console.error("Unable to start the passkey login: a required form field is missing.")
      return
    }
    const opts = requestOptions(JSON.parse(dataEl.value))
    abortConditionalUI()
    navigator.credentials
      .get({ publicKey: opts.publicKey })
      .then(function (credential) {
        submitWith(resultEl, assertionJSON(credential))
      })
      .catch(function (err) {
        if (err instanceof DOMException && err.name === "SecurityError") {
          console.error(
            "A security exception occurred while loading Passkeys / WebAuthn. See " +
              "https://www.ory.com/docs/troubleshooting/passkeys-webauthn-security-error: " +
              err.message,
          )
        } else {
          console.error("[Ory/Passkey] An unknown error occurred while getting passkey credentials", err)
        }
        return passkeyLoginAutocompleteInit()
      })
  }

  // The passkey's user name comes from the first filled form field the server names.
  function displayNameFrom(createData, form) {
    const names =
      Array.isArray(createData.displayNameFieldNames) && createData.displayNameFieldNames.length > 0
        ? createData.displayNameFieldNames
        : [createData.displayNameFieldName]
    for (const name of names) {
      const el = name && form.querySelector("[name='" + name + "']")
      if (el && el.value) {
        return el.value
      }
    }
    return ""
  }

  function createPasskey(opts, resultEl) {
    navigator.credentials
      .create(creationOptions(opts))
      .then(function (credential) {
        submitWith(resultEl, attestationJSON(credential))
      })
      .catch(function (err) {
        console.error(err)
      })
  }

  // Passkey sign-up: passkey_create_data holds {credentialOptions, displayNameFieldName(s)}.
  function passkeyRegistration() {
    const dataEl = byName("passkey_create_data")
    const resultEl = byName("passkey_register")
    if (!dataEl || !resultEl) {
      console.debug("__oryPasskeyRegistration: mandatory fields not found")
      return
    }
    const createData = JSON.parse(dataEl.value)
    const opts = createData.credentialOptions
    const displayName = displayNameFrom(createData, dataEl.closest("form"))
    opts.publicKey.user.name = displayName
    opts.publicKey.user.displayName = displayName
    createPasskey(opts, resultEl)
  }

  // Adding a passkey in settings: passkey_create_data holds the creation options themselves.
  function passkeySettingsRegistration() {
    const dataEl = byName("passkey_create_data")
    const resultEl = byName("passkey_settings_register")
    if (!dataEl || !resultEl) {
      console.debug("__oryPasskeySettingsRegistration: mandatory fields not found")
      return
    }
    createPasskey(JSON.parse(dataEl.value), resultEl)
  }

  const exported = {
    WebAuthnLogin: webAuthnLogin,
    WebAuthnRegistration: webAuthnRegistration,
    PasskeySettingsRegistration: passkeySettingsRegistration,
    PasskeyLogin: passkeyLogin,
    PasskeyRegistration: passkeyRegistration,
    PasskeyLoginAutocompleteInit: passkeyLoginAutocompleteInit,
  }
  for (const name in exported) {
    window["__ory" + name] = exported[name] // the names Ory Elements v0 calls
    window["ory" + name] = exported[name] // the names in onclickTrigger / onloadTrigger
  }

  window.__oryWebAuthnInitialized = true
  window.dispatchEvent(new CustomEvent("oryWebAuthnInitialized"))
})()
