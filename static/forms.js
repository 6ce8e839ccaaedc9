// Forms, a little kinder with JavaScript:
// - choosing an item's store shows that store's tags at once, from the API
//   (without the script, the "Show this store's tags" button beside the
//   store asks the server for the same form with them);
// - a new token has a button that copies it (without the script, the field
//   is there to select and copy).
(function () {
  'use strict';

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
