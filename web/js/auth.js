// Log in (when the cluster has authentication on) and, for root, users,
// roles and their permissions. The token travels in the Authorization
// header, as etcd's gateway expects; the page never stores the password.

import { call, session } from './api.js';
import { fromB64, prefixEnd, showKey, toB64, utf8 } from './bytes.js';

const $ = (id) => document.getElementById(id);

export async function login(user, password) {
  const r = await call('/v3/auth/authenticate', { name: user, password }, { auth: false });
  session.set(user, r.token);
}

/** Shows the login dialog; resolves once a login succeeded. */
export function askLogin(reason) {
  const dlg = $('login');
  $('login-error').textContent = reason && !/user name is empty/.test(reason) ? reason : '';
  if (dlg.open) return dlg.pending;
  dlg.pending = new Promise((resolve) => {
    const form = $('login-form');
    form.onsubmit = async (e) => {
      e.preventDefault();
      $('login-submit').disabled = true;
      try {
        await login($('login-user').value, $('login-pw').value);
        $('login-pw').value = '';
        dlg.close();
        resolve();
      } catch (err) {
        $('login-error').textContent = err.message;
      } finally {
        $('login-submit').disabled = false;
      }
    };
  });
  // Escape must not dismiss it: with auth on, nothing works without a token.
  dlg.oncancel = (e) => e.preventDefault();
  dlg.showModal();
  $('login-user').focus();
  return dlg.pending;
}

const PERM_TYPES = ['READ', 'WRITE', 'READWRITE'];

function rangeText(p) {
  const key = fromB64(p.key);
  if (!p.range_end) return showKey(key);
  const end = fromB64(p.range_end);
  if (end.length === 1 && end[0] === 0) return `${showKey(key)} and every key after it`;
  const pe = prefixEnd(key);
  if (pe.length === end.length && pe.every((b, i) => b === end[i])) return `${showKey(key)}* (prefix)`;
  return `[${showKey(key)}, ${showKey(end)})`;
}

function button(text, cls, onClick) {
  const b = document.createElement('button');
  b.type = 'button'; b.textContent = text; if (cls) b.className = cls;
  b.addEventListener('click', onClick);
  return b;
}

export async function renderAuth(notify, confirm) {
  const state = $('auth-state');
  state.textContent = session.token ? `Logged in as ${session.user}.` : 'Not logged in (authentication is off, or log in when asked).';
  let users, roles;
  try {
    users = (await call('/v3/auth/user/list', {})).users || [];
    roles = (await call('/v3/auth/role/list', {})).roles || [];
  } catch (e) {
    $('auth-admin').hidden = true;
    state.textContent += ` Users and roles are not available: ${e.message}`;
    return;
  }
  $('auth-admin').hidden = false;
  const act = (f) => async () => { try { await f(); await renderAuth(notify, confirm); } catch (e) { notify(e); } };
  const ul = $('users');
  ul.replaceChildren();
  for (const name of users) {
    const li = document.createElement('li');
    li.dataset.user = name;
    let granted = [];
    try { granted = (await call('/v3/auth/user/get', { name })).roles || []; } catch (e) { notify(e); }
    const title = document.createElement('strong'); title.textContent = name;
    li.append(title, ' ');
    for (const r of granted) {
      const chip = document.createElement('span');
      chip.className = 'chip';
      const x = button('×', '', act(() => call('/v3/auth/user/revoke', { name, role: r })));
      x.setAttribute('aria-label', `Revoke role ${r} from ${name}`);
      chip.append(r, x);
      li.append(chip);
    }
    const sel = document.createElement('select');
    sel.setAttribute('aria-label', `Role to grant to ${name}`);
    for (const r of roles.filter((r) => !granted.includes(r))) sel.append(new Option(r, r));
    if (sel.options.length) li.append(sel, button('Grant role', '', act(() => call('/v3/auth/user/grant', { user: name, role: sel.value }))));
    li.append(' ', button('Delete', 'danger', async () => {
      if (await confirm(`Delete user ${name}?`)) await act(() => call('/v3/auth/user/delete', { name }))();
    }));
    ul.append(li);
  }
  const rl = $('roles');
  rl.replaceChildren();
  for (const name of roles) {
    const li = document.createElement('li');
    li.dataset.role = name;
    const title = document.createElement('strong'); title.textContent = name;
    li.append(title, ' ', button('Delete', 'danger', async () => {
      if (await confirm(`Delete role ${name}?`)) await act(() => call('/v3/auth/role/delete', { role: name }))();
    }));
    let perms = [];
    try { perms = (await call('/v3/auth/role/get', { role: name })).perm || []; } catch (e) { notify(e); }
    const pl = document.createElement('ul');
    for (const p of perms) {
      const pli = document.createElement('li');
      pli.className = 'perm';
      pli.append(`${p.permType || 'READ'} ${rangeText(p)} `, button('Revoke', '', act(() => call('/v3/auth/role/revoke', { role: name, key: p.key, range_end: p.range_end || '' }))));
      pl.append(pli);
    }
    const form = document.createElement('form');
    form.className = 'row';
    const type = document.createElement('select');
    for (const t of PERM_TYPES) type.append(new Option(t, t));
    const key = document.createElement('input'); key.placeholder = 'key'; key.setAttribute('aria-label', `Permission key for ${name}`);
    const prefix = document.createElement('label'); prefix.innerHTML = '<input type="checkbox"> prefix';
    form.append(type, key, prefix, button('Grant permission', '', act(() => {
      const k = utf8(key.value);
      const perm = { permType: type.value, key: toB64(k) };
      if (prefix.firstChild.checked) perm.range_end = toB64(prefixEnd(k));
      return call('/v3/auth/role/grant', { name, perm });
    })));
    li.append(pl, form);
    rl.append(li);
  }
}

export function wireAuthForms(notify, confirm) {
  $('user-add').addEventListener('submit', async (e) => {
    e.preventDefault();
    try { await call('/v3/auth/user/add', { name: $('user-add-name').value, password: $('user-add-pw').value }); $('user-add-pw').value = ''; await renderAuth(notify, confirm); } catch (err) { notify(err); }
  });
  $('role-add').addEventListener('submit', async (e) => {
    e.preventDefault();
    try { await call('/v3/auth/role/add', { name: $('role-add-name').value }); await renderAuth(notify, confirm); } catch (err) { notify(err); }
  });
}
