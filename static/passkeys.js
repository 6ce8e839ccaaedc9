// Passkeys: adding one to the account (the form on the two-step page) and
// signing in with one (the second step of logging in). Either way the
// browser's navigator.credentials answers options the server made, and the
// answer goes back in the form's hidden `passkey` field. Without this
// script, or in a browser without passkeys, the server says what is needed.
(function () {
  "use strict";
  var supported = !!(window.PublicKeyCredential &&
    PublicKeyCredential.parseCreationOptionsFromJSON &&
    PublicKeyCredential.parseRequestOptionsFromJSON);

  function say(box, message) {
    box.textContent = message;
    box.hidden = false;
  }

  function why(error) {
    if (error && error.name === "NotAllowedError") {
      return "The passkey was not used: it was cancelled, or took too long.";
    }
    if (error && error.name === "InvalidStateError") {
      return "That passkey is already added to this account.";
    }
    return (error && error.message) || "The passkey did not work: try again.";
  }

  var add = document.querySelector("form[data-passkey-options]");
  if (add) {
    var addError = add.querySelector("#passkey-error");
    add.addEventListener("submit", function (event) {
      if (add.elements.passkey.value) return;
      event.preventDefault();
      if (!supported) {
        say(addError, "This browser cannot make passkeys.");
        return;
      }
      var body = new URLSearchParams();
      body.set("csrf_token", add.elements.csrf_token.value);
      fetch(add.getAttribute("data-passkey-options"), {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { Accept: "application/json" }
      })
        .then(function (response) {
          return response.json().catch(function () { return {}; }).then(function (answer) {
            if (!response.ok || !answer.publicKey) {
              throw new Error(answer.message || "Passkeys cannot be added just now: reload the page and try again.");
            }
            return answer;
          });
        })
        .then(function (answer) {
          return navigator.credentials.create({
            publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(answer.publicKey)
          });
        })
        .then(function (credential) {
          add.elements.passkey.value = JSON.stringify(credential.toJSON());
          add.submit();
        })
        .catch(function (error) { say(addError, why(error)); });
    });
  }

  var use = document.querySelector("button[data-passkey-sign-in]");
  if (use && supported) {
    var useError = document.getElementById("passkey-error");
    use.hidden = false;
    use.addEventListener("click", function () {
      var options = JSON.parse(use.getAttribute("data-passkey-sign-in"));
      navigator.credentials
        .get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options) })
        .then(function (credential) {
          use.form.elements.passkey.value = JSON.stringify(credential.toJSON());
          use.form.submit();
        })
        .catch(function (error) { say(useError, why(error)); });
    });
  }
})();
