// The console's only script (about 1.6 KB, no build step): live bulk progress and a
// confirmation before cancelling. Pages work without it; it only refreshes what they show.
import { createHash } from 'node:crypto';

export const consoleScript = `(function () {
  'use strict';
  var FINAL = ['completed', 'cancelled', 'expired', 'failed'];
  var PERIOD = 2000;
  function live(el) { return FINAL.indexOf(el.getAttribute('data-status')) < 0; }
  // The server renders the progress fragment (one implementation of it); this swaps it in.
  function refresh(el) {
    return fetch(el.getAttribute('data-progress'), { credentials: 'same-origin', cache: 'no-store' })
      .then(function (res) { return res.ok ? res.text() : null; })
      .then(function (html) {
        if (!html) return el;
        var t = document.createElement('template');
        t.innerHTML = html.trim();
        var next = t.content.firstElementChild;
        if (!next || next.isEqualNode(el)) return el;
        el.replaceWith(next);
        var allowed = (next.getAttribute('data-actions') || '').split(' ');
        document.querySelectorAll('form[data-action][data-bulk="' + next.getAttribute('data-bulk') + '"]')
          .forEach(function (f) { f.hidden = allowed.indexOf(f.getAttribute('data-action')) < 0; });
        return next;
      })
      .catch(function () { return el; });
  }
  var items = Array.prototype.slice.call(document.querySelectorAll('[data-progress]'));
  function tick() {
    items = items.filter(live);
    if (items.length === 0) return;
    Promise.all(items.map(refresh)).then(function (next) { items = next; setTimeout(tick, PERIOD); });
  }
  setTimeout(tick, PERIOD);
  document.addEventListener('submit', function (e) {
    var ask = e.target.getAttribute('data-confirm');
    if (ask && !window.confirm(ask)) e.preventDefault();
  });
})();
`;

/** Content-addressed, so it can be cached for good and a new version is fetched at once. */
export const scriptName = `console-${createHash('sha256').update(consoleScript).digest('hex').slice(0, 12)}.js`;
export const scriptPath = `/console/assets/${scriptName}`;
