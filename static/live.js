// Live updates for the pages that show stores and items, and a warning on
// admin forms whose object changes elsewhere.
//
// A live page marks its root with data-live="home|store|item|admin-form";
// <body data-events-after> is the newest event the server had published
// when the page was asked for, so the page shows at least everything up to
// it. The script follows GET /api/events from there, so no later change is
// missed; one that the page already shows (it committed while the page was
// being built) is recognised by its row and not applied twice. It patches
// the page in place with textContent only. Without JavaScript the pages work
// as before; a reload always shows the same thing.
(function () {
  'use strict';

  var root = document.querySelector('[data-live]');
  if (!root || !window.EventSource) {
    return;
  }
  var page = root.dataset.live;
  var storeId = Number(root.dataset.storeId) || null;
  var note = root.querySelector('[data-live-note]');
  var status = root.querySelector('[data-live-status]');

  function field(name) {
    return root.querySelector('[data-live-field="' + name + '"]');
  }

  function announce(text) {
    if (status) {
      status.textContent = text;
    }
  }

  // A lasting message: the object is gone, or the page is out of date.
  function warn(text, withReload) {
    if (!note) {
      return;
    }
    note.textContent = text + ' ';
    if (withReload) {
      var link = document.createElement('a');
      link.href = window.location.href;
      link.textContent = 'Reload the page';
      note.appendChild(link);
    }
    note.hidden = false;
  }

  // As the pages write prices (see `Money` in src/price.rs): the currency's
  // symbol or code, then the amount with its thousands grouped.
  var currencyPrefix = document.body.getAttribute('data-currency-prefix') || '';
  function price(value) {
    var parts = Number(value).toFixed(2).split('.');
    return currencyPrefix + parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ',') + '.' + parts[1];
  }

  function plural(count, word) {
    return count + ' ' + word + (count === 1 ? '' : 's');
  }

  function highlight(element) {
    element.classList.remove('changed');
    void element.offsetWidth; // restart the animation
    element.classList.add('changed');
  }

  // A picture in every size, for the browser to choose by `sizes`.
  function picture(image, size, sizes, alt) {
    var img = document.createElement('img');
    img.src = size.url;
    img.srcset = image.sizes.map(function (each) { return each.url + ' ' + each.width + 'w'; }).join(', ');
    img.sizes = sizes;
    img.width = size.width;
    img.height = size.height;
    img.alt = alt;
    img.decoding = 'async';
    return img;
  }

  // An item's card picture in a grid: its first picture, middle size.
  function showCardPicture(card, item) {
    var frame = card.querySelector('.card-picture');
    frame.textContent = '';
    if (item.images && item.images.length) {
      var image = item.images[0];
      var img = picture(image, image.sizes[Math.min(1, image.sizes.length - 1)], '(max-width: 40rem) 45vw, 15rem', '');
      img.loading = 'lazy';
      frame.appendChild(img);
    }
  }

  // The thumbnail beside an item's name in a list: its first picture.
  function showThumb(cell, item) {
    var old = cell.querySelector('img.thumb');
    if (old) {
      old.remove();
    }
    if (item.images && item.images.length) {
      var image = item.images[0];
      var img = picture(image, image.sizes[0], '3rem', '');
      img.className = 'thumb';
      img.loading = 'lazy';
      cell.insertBefore(img, cell.firstChild);
    }
  }

  function tagLinks(tags) {
    var fragment = document.createDocumentFragment();
    tags.forEach(function (tag) {
      var link = document.createElement('a');
      link.className = 'tag';
      link.dataset.tagId = tag.id;
      link.href = '/tags/' + tag.id;
      link.textContent = tag.name;
      fragment.appendChild(link);
      fragment.appendChild(document.createTextNode(' '));
    });
    return fragment;
  }

  function renameTag(tag) {
    root.querySelectorAll('[data-tag-id="' + tag.id + '"]').forEach(function (element) {
      var target = element.tagName === 'LI' ? element.querySelector('a') : element;
      target.textContent = tag.name;
    });
  }

  // Where a row goes in a list, given `before(row)`: whether the new row
  // comes before that one in the list's order. Null when it belongs on
  // another page of the list.
  function placeIn(body, before) {
    var rows = Array.prototype.filter.call(body.children, function (row) { return !row.classList.contains('empty'); });
    var hasPrevious = root.querySelector('a[rel="prev"]') !== null;
    var hasNext = root.querySelector('a[rel="next"]') !== null;
    var next = null;
    for (var i = 0; i < rows.length; i += 1) {
      if (before(rows[i])) {
        next = rows[i];
        break;
      }
    }
    if (rows.length > 0 && next === rows[0] && hasPrevious) {
      return null;
    }
    if (rows.length > 0 && next === null && hasNext) {
      return null;
    }
    return { before: next };
  }

  // Where a row named `name` goes in a list sorted by name.
  function placeByName(body, name, nameSelector) {
    return placeIn(body, function (row) {
      return name.localeCompare(row.querySelector(nameSelector).textContent) < 0;
    });
  }

  // Whether `item` comes before the item of `row` in the order the page
  // shows (`data-sort`): as the server orders them, ties by id.
  function itemBefore(item, row) {
    var id = Number(row.dataset.itemId);
    var difference;
    switch (root.dataset.sort || 'name') {
      case 'price':
        difference = Number(item.price) - Number(row.dataset.price) || item.id - id;
        break;
      case '-price':
        difference = Number(row.dataset.price) - Number(item.price) || id - item.id;
        break;
      case 'newest':
        difference = id - item.id;
        break;
      default:
        difference = item.name.localeCompare(row.querySelector('.item-name').textContent) || item.id - id;
    }
    return difference < 0;
  }

  // "Showing 1–20 of 23" under a list, once rows came or went, and `delta`
  // is how many more the whole list now has.
  function summarize(body, delta) {
    var summary = field('page-summary');
    if (!summary) {
      return;
    }
    var total = Number(summary.dataset.total) + delta;
    var offset = Number(summary.dataset.offset);
    var shown = body.querySelectorAll(':scope > :not(.empty)').length;
    summary.dataset.total = total;
    summary.textContent = total === 0 || shown === 0 ? 'Nothing to show'
      : 'Showing ' + (offset + 1) + '–' + (offset + shown) + ' of ' + total;
  }

  function removeEmptyRow(body) {
    var empty = body.querySelector(':scope > .empty');
    if (empty) {
      empty.remove();
    }
  }

  // The store page: its name, item count, tags and the rows of its items.
  var storePage = {
    count: function (delta) {
      var element = field('item-count');
      if (!element) {
        return; // a store too large to count
      }
      var count = Number(element.dataset.count) + delta;
      element.dataset.count = count;
      element.textContent = plural(count, 'item') + '.';
    },
    shows: function (item) {
      var tagId = Number(root.dataset.tagId);
      return !tagId || item.tags.some(function (tag) { return tag.id === tagId; });
    },
    row: function (id) {
      return root.querySelector('[data-live-list="items"] > [data-item-id="' + id + '"]');
    },
    list: function () {
      return root.querySelector('[data-live-list="items"]');
    },
    fill: function (row, item) {
      var link = row.querySelector('.item-name a');
      link.href = '/items/' + item.id;
      link.textContent = item.name;
      showCardPicture(row, item);
      var tags = row.querySelector('.item-tags');
      tags.textContent = '';
      tags.appendChild(tagLinks(item.tags));
      row.querySelector('.item-price').textContent = price(item.price);
      row.dataset.price = item.price;
      highlight(row);
    },
    // Where an item's row goes in the page's order; null on another page.
    place: function (item) {
      return placeIn(storePage.list(), function (row) { return itemBefore(item, row); });
    },
    insert: function (item) {
      var body = storePage.list();
      var place = storePage.place(item);
      if (!place) {
        return;
      }
      removeEmptyRow(body);
      var row = document.createElement('li');
      row.className = 'card';
      row.dataset.itemId = item.id;
      ['card-picture', 'item-name', 'item-price', 'item-tags'].forEach(function (kind) {
        var part = document.createElement(kind === 'card-picture' ? 'div' : 'p');
        part.className = kind;
        row.appendChild(part);
      });
      row.querySelector('.item-name').appendChild(document.createElement('a'));
      storePage.fill(row, item);
      body.insertBefore(row, place.before);
    },
    // An item changed: fill its row, or take it out of (or into) a list
    // filtered by a tag. An item off this page that starts to carry the tag
    // may have carried it before, so the total is left as it is then.
    show: function (item) {
      var row = storePage.row(item.id);
      if (!storePage.shows(item)) {
        if (row) {
          row.remove();
          summarize(storePage.list(), -1);
        }
      } else if (row) {
        storePage.fill(row, item);
        // A new price or name may move it, here or to another page.
        var body = storePage.list();
        row.remove();
        var place = storePage.place(item);
        if (place) {
          body.insertBefore(row, place.before);
        } else {
          summarize(body, 0);
        }
      } else {
        storePage.insert(item);
        summarize(storePage.list(), 0);
      }
    },
    handlers: {
      'store.updated': function (event) {
        field('store-name').textContent = event.object.name;
        document.title = event.object.name + ' · Storefront';
        announce('This store is now called ' + event.object.name + '.');
      },
      'store.deleted': function () {
        warn('This store has been deleted, with its items and tags.', false);
        return 'stop';
      },
      'item.created': function (event) {
        if (storePage.row(event.entity_id)) {
          return; // the page was built after this change already
        }
        storePage.count(1);
        if (storePage.shows(event.object)) {
          storePage.insert(event.object);
          summarize(storePage.list(), 1);
        }
        announce('New item: ' + event.object.name + ', ' + price(event.object.price) + '.');
      },
      'item.updated': function (event) {
        storePage.show(event.object);
        announce(event.object.name + ' now costs ' + price(event.object.price) + '.');
      },
      'item.tags_changed': function (event) {
        storePage.show(event.object);
        announce('The tags of ' + event.object.name + ' changed.');
      },
      'item.deleted': function (event) {
        storePage.count(-1);
        var row = storePage.row(event.entity_id);
        if (row) {
          announce(row.querySelector('.item-name').textContent + ' was removed.');
          row.remove();
          summarize(storePage.list(), -1);
        } else if (!root.dataset.tagId) {
          summarize(storePage.list(), -1);
        }
      },
      'tag.created': function (event) {
        var list = root.querySelector('[data-live-list="tags"]');
        var entry = document.createElement('li');
        entry.dataset.tagId = event.object.id;
        var link = document.createElement('a');
        link.href = '/stores/' + storeId + '?tag=' + event.object.id;
        link.textContent = event.object.name;
        entry.appendChild(link);
        list.appendChild(entry);
        list.closest('nav').hidden = false;
      },
      'tag.updated': function (event) {
        renameTag(event.object);
      },
      'tag.deleted': function (event) {
        var entry = root.querySelector('li[data-tag-id="' + event.entity_id + '"]');
        if (entry) {
          entry.remove();
        }
      }
    }
  };

  // The item page: the item's own fields, its store's name and its tags.
  var itemPage = {
    id: Number(root.dataset.itemId),
    fill: function (item) {
      field('item-name').textContent = item.name;
      document.title = item.name + ' · Storefront';
      field('item-price').textContent = price(item.price);
      var tags = field('item-tags');
      tags.textContent = item.tags.length ? '' : 'None';
      tags.appendChild(tagLinks(item.tags));
      var description = field('item-description');
      description.textContent = item.description || '';
      description.hidden = !item.description;
      var gallery = field('item-images');
      var images = item.images || [];
      gallery.textContent = '';
      images.forEach(function (image, index) {
        var img = picture(image, image.sizes[image.sizes.length - 1], '(max-width: 40rem) 100vw, 40rem', image.alt);
        if (index > 0) {
          img.loading = 'lazy';
        }
        gallery.appendChild(img);
      });
      gallery.hidden = !images.length;
      highlight(root.querySelector('.facts'));
    },
    handlers: {
      'item.updated': function (event) {
        if (event.entity_id === itemPage.id) {
          itemPage.fill(event.object);
          announce('Updated: ' + event.object.name + ' costs ' + price(event.object.price) + '.');
        }
      },
      'item.tags_changed': function (event) {
        if (event.entity_id === itemPage.id) {
          itemPage.fill(event.object);
          announce('The tags of this item changed.');
        }
      },
      'item.deleted': function (event) {
        if (event.entity_id === itemPage.id) {
          warn('This item has been deleted.', false);
          return 'stop';
        }
      },
      'store.updated': function (event) {
        field('store-name').textContent = event.object.name;
      },
      'store.deleted': function () {
        warn('This item has been deleted with its store.', false);
        return 'stop';
      },
      'tag.updated': function (event) {
        renameTag(event.object);
      }
    }
  };

  // The home page: the stores, each with its number of items.
  var homePage = {
    row: function (id) {
      return root.querySelector('tr[data-store-id="' + id + '"]');
    },
    count: function (id, delta) {
      var row = homePage.row(id);
      if (row) {
        var cell = row.querySelector('.store-count');
        if (cell.dataset.more === undefined) { // not a store too large to count
          cell.textContent = Number(cell.textContent) + delta;
        }
        highlight(row);
      }
    },
    handlers: {
      'store.created': function (event) {
        if (homePage.row(event.entity_id)) {
          return; // the page was built after this change already
        }
        var body = root.querySelector('[data-live-list="stores"]');
        var place = placeByName(body, event.object.name, '.store-name');
        if (place) {
          removeEmptyRow(body);
          var row = document.createElement('tr');
          row.dataset.storeId = event.object.id;
          var name = document.createElement('td');
          name.className = 'store-name';
          var link = document.createElement('a');
          link.href = '/stores/' + event.object.id;
          link.textContent = event.object.name;
          name.appendChild(link);
          var count = document.createElement('td');
          count.className = 'num store-count';
          count.textContent = '0';
          row.appendChild(name);
          row.appendChild(count);
          body.insertBefore(row, place.before);
          highlight(row);
        }
        summarize(body, 1);
        announce('New store: ' + event.object.name + '.');
      },
      'store.updated': function (event) {
        var row = homePage.row(event.entity_id);
        if (row) {
          row.querySelector('.store-name a').textContent = event.object.name;
          highlight(row);
        }
      },
      'store.deleted': function (event) {
        var row = homePage.row(event.entity_id);
        if (row) {
          announce(row.querySelector('.store-name').textContent + ' was closed.');
          row.remove();
        }
        summarize(root.querySelector('[data-live-list="stores"]'), -1);
      },
      'item.created': function (event) {
        homePage.count(event.store_id, 1);
      },
      'item.deleted': function (event) {
        homePage.count(event.store_id, -1);
      }
    }
  };

  // An admin edit form: say so as soon as its object changes elsewhere.
  var adminForm = {
    entity: root.dataset.entity,
    id: Number(root.dataset.entityId),
    version: Number(root.dataset.version),
    changed: function (event) {
      var object = event.object || {};
      if (object.version !== undefined && object.version <= adminForm.version) {
        return; // already what the form shows
      }
      warn('Someone else changed this ' + adminForm.entity + ' after you opened this form. ' +
        'If you save, you will see both versions and choose.', true);
    },
    deleted: function () {
      warn('Someone else deleted this ' + adminForm.entity + ' after you opened this form.', false);
      return 'stop';
    },
    handlers: {}
  };
  ['updated', 'tags_changed', 'deleted'].forEach(function (what) {
    adminForm.handlers[adminForm.entity + '.' + what] = function (event) {
      if (event.entity_id === adminForm.id) {
        return what === 'deleted' ? adminForm.deleted() : adminForm.changed(event);
      }
    };
  });
  if (adminForm.entity !== 'store') {
    adminForm.handlers['store.deleted'] = adminForm.deleted;
  }

  var pages = { store: storePage, item: itemPage, home: homePage, 'admin-form': adminForm };
  var handlers = (pages[page] || {}).handlers;
  if (!handlers) {
    return;
  }

  var query = new URLSearchParams();
  if (storeId) {
    query.set('store_id', storeId);
  }
  if (document.body.dataset.eventsAfter !== undefined) {
    query.set('last_event_id', document.body.dataset.eventsAfter);
  }
  var source = new EventSource('/api/events?' + query.toString());
  Object.keys(handlers).forEach(function (name) {
    source.addEventListener(name, function (message) {
      if (handlers[name](JSON.parse(message.data)) === 'stop') {
        source.close();
      }
    });
  });
  source.addEventListener('resync', function () {
    if (page !== 'admin-form') {
      warn('This page may be out of date.', true);
    }
  });
  source.addEventListener('open', function () {
    root.dataset.liveState = 'open';
  });
}());
