// The page: tabs (address-bar routes #/keys, #/key/<key>, #/cluster,
// #/leases, #/auth, #/v2), one message area, a confirm dialog, and the
// live watch feeding the tree and the open key.

import { session } from './api.js';
import { fromB64, fromB64url, showKey, toB64url, toB64, cmp, prefixEnd } from './bytes.js';
import { KeyTree, Search } from './tree.js';
import { KeyView } from './keyview.js';
import { Live } from './live.js';
import { renderCluster } from './cluster.js';
import { renderLeases, grantFromForm, stopLeases } from './leases.js';
import { askLogin, renderAuth, wireAuthForms } from './auth.js';
import { renderV2 } from './v2.js';

const $ = (id) => document.getElementById(id);

/** Shows an error (err) or a success message (text); null/null clears. */
function notify(err, text = '') {
  const box = $('msg');
  if (!err && !text) { box.hidden = true; return; }
  box.textContent = err ? (err.message || String(err)) : text;
  box.className = err ? '' : 'info';
  box.hidden = false;
}

function confirmDialog(text) {
  const dlg = $('confirm');
  $('confirm-text').textContent = text;
  return new Promise((resolve) => {
    dlg.addEventListener('close', () => resolve(dlg.returnValue === 'ok'), { once: true });
    dlg.returnValue = '';
    dlg.showModal();
    $('confirm-cancel').focus();
  });
}

const sepStored = localStorage.getItem('etcd-ui-sep');
if (sepStored) $('sep').value = sepStored;

let revision = 0;
const live = new Live({
  onEvent: (e) => {
    const type = e.type || 'PUT';
    tree.apply(type, fromB64(e.kv.key));
    view.event(type, e.kv);
  },
  onDenied: (scope, reason) => {
    denied.add(toB64(scope.key) + ':' + (scope.end ? toB64(scope.end) : ''));
    updateScopes();
  },
  onState: (s) => { $('who').dataset.live = s; },
});
const denied = new Set();

function seen(rev) { if (rev > revision) revision = rev; live.seen(rev); }

const tree = new KeyTree($('tree'), {
  onOpen: (key) => { location.hash = '#/key/' + toB64url(key); },
  onScopes: () => updateScopes(),
  onError: (e) => notify(e),
  onRevision: seen,
});
const view = new KeyView({
  notify,
  confirm: confirmDialog,
  onSaved: (key) => { tree.markOpen(key); if (location.hash !== '#/key/' + toB64url(key)) history.replaceState(null, '', '#/key/' + toB64url(key)); updateScopes(); },
  onRevision: seen,
});

/** The watch covers the expanded tree and the open key, minus ranges the server refused. */
function updateScopes() {
  if (!treeLoaded) return;
  const sig = (s) => toB64(s.key) + ':' + (s.end ? toB64(s.end) : '');
  let scopes = tree.scopes().filter((s) => !denied.has(sig(s)));
  if (view.key && !scopes.some((s) => cmp(view.key, s.key) >= 0 && (isAll(s.end) || cmp(view.key, s.end) < 0))) {
    const k = { key: view.key, end: null };
    if (!denied.has(sig(k))) scopes.push(k);
  }
  live.setScopes(scopes);
}
const isAll = (e) => e && e.length === 1 && e[0] === 0;

let treeLoaded = false;
async function ensureTree() {
  if (treeLoaded) return;
  treeLoaded = true;
  await tree.reload();
  updateScopes();
}

function showPage(name) {
  for (const p of document.querySelectorAll('.page')) p.hidden = p.id !== 'page-' + name;
  for (const t of document.querySelectorAll('nav a')) t.setAttribute('aria-selected', String(t.id === 'tab-' + name));
}

async function route() {
  const h = location.hash || '#/keys';
  if (h !== '#/leases') stopLeases();
  if (h.startsWith('#/key/')) {
    showPage('keys');
    await ensureTree();
    const key = fromB64url(h.slice('#/key/'.length));
    tree.markOpen(key);
    await view.open(key);
    updateScopes();
  } else if (h === '#/new') {
    showPage('keys'); await ensureTree(); view.create('');
  } else if (h === '#/cluster') { showPage('cluster'); await renderCluster(notify); }
  else if (h === '#/leases') { showPage('leases'); await renderLeases(notify, confirmDialog); }
  else if (h === '#/auth') { showPage('auth'); await renderAuth(notify, confirmDialog); }
  else if (h === '#/v2') { showPage('v2'); await renderV2(notify); }
  else { showPage('keys'); await ensureTree(); }
}

function showSession() {
  $('who').textContent = session.token ? `user: ${session.user}` : '';
  $('logout').hidden = !session.token;
}

// Several requests can fail for want of a login at once: one dialog, one re-render.
let relogin = null;
session.onLoginNeeded = (err) => {
  if (relogin) return;
  live.stop();
  relogin = askLogin(err.message).then(async () => {
    relogin = null;
    showSession();
    notify(null);
    treeLoaded = false;
    denied.clear();
    await route();
  });
};

$('logout').addEventListener('click', () => { session.set('', ''); showSession(); live.stop(); treeLoaded = false; route(); });
$('sep').addEventListener('change', () => { localStorage.setItem('etcd-ui-sep', $('sep').value || '/'); tree.setSeparator($('sep').value); });
$('new-key').addEventListener('click', () => {
  showPage('keys');
  const open = view.key ? showKey(view.key) : '';
  const at = open.lastIndexOf($('sep').value || '/');
  view.create(at >= 0 ? open.slice(0, at + 1) : '');
  tree.markOpen(null);
});
$('cluster-refresh').addEventListener('click', () => renderCluster(notify));
$('lease-refresh').addEventListener('click', () => renderLeases(notify, confirmDialog));
$('lease-grant').addEventListener('submit', (e) => { e.preventDefault(); grantFromForm(notify, confirmDialog); });
wireAuthForms(notify, confirmDialog);

let search = null;
async function searchPage() {
  const s = search;
  if (!s || s.busy) return;
  s.busy = true;
  $('search-more').disabled = true;
  try {
    const r = await s.next();
    if (s !== search) return; // a newer search replaced this one
    for (const k of r.keys) {
      const li = document.createElement('li');
      const b = document.createElement('button');
      b.type = 'button'; b.className = 'node leaf'; b.textContent = showKey(k);
      b.addEventListener('click', () => { location.hash = '#/key/' + toB64url(k); });
      li.append(b); $('search-list').append(li);
    }
    const n = $('search-list').children.length;
    $('search-summary').textContent = `${n} match${n === 1 ? '' : 'es'}` + (search.mode === 'substring' ? `, ${r.scanned} keys scanned` : '') + (r.done ? '' : ' so far');
    $('search-more').hidden = r.done;
    $('search-more').textContent = search.mode === 'substring' ? 'Keep scanning' : 'More results';
  } catch (e) { notify(e); } finally { s.busy = false; $('search-more').disabled = false; }
}
$('search-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const text = $('search').value;
  if (!text) { closeSearch(); return; }
  search = new Search($('search-mode').value, text);
  $('search-list').replaceChildren();
  $('search-results').hidden = false; $('tree').hidden = true;
  await searchPage();
});
$('search-more').addEventListener('click', searchPage);
function closeSearch() { $('search-results').hidden = true; $('tree').hidden = false; search = null; }
$('search-close').addEventListener('click', closeSearch);

tree.sep = new TextEncoder().encode($('sep').value || '/');
showSession();
window.addEventListener('hashchange', () => { notify(null); route(); });
route();

// For tests and debugging: the page's live state.
window.etcdUi = { tree, view, live, get revision() { return revision; } };
