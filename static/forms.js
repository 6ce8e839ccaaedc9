// Forms, a little kinder with JavaScript:
// - choosing an item's store shows that store's tags at once, from the API
//   (without the script, the "Show this store's tags" button beside the
//   store asks the server for the same form with them);
// - a new token has a button that copies it (without the script, the field
//   is there to select and copy);
// - a form sent after the session ended comes back filled in once its
//   sender has logged in again.
(function () {
  'use strict';

  // What was typed into the form last sent, kept in this tab only (never a
  // form with a password), until the next page says what became of it.
  var DRAFT = 'storefront-draft';
  function readDraft() {
    try { return JSON.parse(sessionStorage.getItem(DRAFT)); } catch (e) { return null; }
  }
  function keepDraft(draft) {
    try { sessionStorage.setItem(DRAFT, JSON.stringify(draft)); } catch (e) { /* storage off: nothing kept */ }
  }
  var here = window.location.pathname + window.location.search;
  var draft = readDraft();
  var login = document.querySelector('form input[name="next"]');
  if (draft && login && window.location.pathname === '/account/login') {
    // Sent here instead of saving: come back to the form after logging in.
    login.value = draft.page;
    draft.waiting = true;
    keepDraft(draft);
  } else if (draft && draft.waiting && draft.page === here) {
    var form = document.querySelector('form[method="post"][action="' + draft.action + '"]');
    if (form) {
      draft.fields.forEach(function (pair) {
        var inputs = form.querySelectorAll('[name="' + pair[0] + '"]');
        inputs.forEach(function (input) {
          if (input.type === 'checkbox' || input.type === 'radio') {
            input.checked = pair[1].indexOf(input.value) !== -1;
          } else if (input.type !== 'hidden' || pair[0] === 'version' || pair[0].indexOf('original.') === 0) {
            input.value = pair[1][0];
          }
        });
      });
      var note = document.createElement('p');
      note.className = 'flash';
      note.setAttribute('role', 'status');
      note.textContent = 'Your session had ended, so nothing was saved. What you typed is back in the form: check it and save again.';
      form.parentNode.insertBefore(note, form);
    }
    sessionStorage.removeItem(DRAFT);
  } else if (draft) {
    sessionStorage.removeItem(DRAFT);
  }
  document.querySelectorAll('form[method="post"]').forEach(function (form) {
    if (form.querySelector('input[type="password"]')) return;
    form.addEventListener('submit', function () {
      var fields = {};
      Array.prototype.forEach.call(form.elements, function (input) {
        if (!input.name || input.name === 'csrf_token' || input.type === 'submit' || input.type === 'button') return;
        if ((input.type === 'checkbox' || input.type === 'radio') && !input.checked) {
          fields[input.name] = fields[input.name] || [];
          return;
        }
        (fields[input.name] = fields[input.name] || []).push(input.value);
      });
      keepDraft({
        page: here,
        action: form.getAttribute('action'),
        fields: Object.keys(fields).map(function (name) { return [name, fields[name]]; }),
      });
    });
  });

  document.querySelectorAll('button[data-copy]').forEach(function (button) {
    var field = document.getElementById(button.getAttribute('data-copy'));
    var status = document.querySelector('.copied');
    if (!field || !navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener('click', function () {
      navigator.clipboard.writeText(field.value).then(function () {
        if (status) status.textContent = 'Copied.';
      }, function () {
        field.select();
        if (status) status.textContent = 'Select the text and copy it.';
      });
    });
  });

  document.querySelectorAll('select[data-fills-tags]').forEach(function (select) {
    var fieldset = document.getElementById(select.getAttribute('data-fills-tags'));
    if (!fieldset) return;
    var reload = document.querySelector('[data-reload-for="' + select.id + '"]');
    if (reload) reload.closest('.reload').hidden = true;
    var name = fieldset.id;

    function show(tags) {
      fieldset.querySelectorAll('label.check, p.none').forEach(function (old) { old.remove(); });
      if (tags.length === 0) {
        var none = document.createElement('p');
        none.className = 'none';
        none.textContent = select.value ? 'This store has no tags yet.' : 'Choose a store to see its tags.';
        fieldset.appendChild(none);
        return;
      }
      tags.forEach(function (tag) {
        var label = document.createElement('label');
        label.className = 'check';
        var box = document.createElement('input');
        box.type = 'checkbox';
        box.name = name;
        box.value = String(tag.id);
        label.appendChild(box);
        label.appendChild(document.createTextNode(' ' + tag.name));
        fieldset.appendChild(label);
      });
    }

    select.addEventListener('change', function () {
      if (!select.value) { show([]); return; }
      var store = select.value;
      fetch('/api/stores/' + encodeURIComponent(store) + '/tags?limit=200', { headers: { Accept: 'application/json' } })
        .then(function (response) {
          if (!response.ok) throw new Error(String(response.status));
          return response.json();
        })
        .then(function (tags) { if (select.value === store) show(tags); })
        .catch(function () {
          // The server can still do it: offer the button again.
          if (reload) reload.closest('.reload').hidden = false;
        });
    });
  });
})();
