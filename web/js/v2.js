// The v2 keys tab (`--enable-v2`): the v2 tree one directory at a time
// (the v2 API lists a directory's direct children), values, TTLs and
// directories; create, update, delete.

import { v2, ApiError } from './api.js';

const $ = (id) => document.getElementById(id);

function nodeLi(n) {
  const li = document.createElement('li');
  li.setAttribute('role', 'treeitem');
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'node ' + (n.dir ? 'dir' : 'leaf');
  b.dataset.v2key = n.key;
  const name = n.key.split('/').pop();
  b.textContent = name + (n.dir ? '/' : '') + (n.ttl ? `  (ttl ${n.ttl}s)` : '');
  if (n.dir) li.setAttribute('aria-expanded', 'false');
  li.append(b);
  return li;
}

async function list(dir, ul) {
  const r = await v2('GET', dir);
  ul.replaceChildren();
  const nodes = r.node.nodes || [];
  if (!nodes.length) { const li = document.createElement('li'); li.className = 'hint'; li.textContent = '(empty)'; ul.append(li); }
  for (const n of nodes) ul.append(nodeLi(n));
}

export async function renderV2(notify) {
  const tree = $('v2-tree');
  try {
    await list('/', tree);
    $('v2-state').textContent = 'v2 keys (a separate key space from v3).';
  } catch (e) {
    tree.replaceChildren();
    $('v2-state').textContent = e instanceof ApiError && e.status === 404
      ? 'The v2 API is not enabled on this member (start it with --enable-v2).'
      : `v2 keys unavailable: ${e.message}`;
  }
  if (!tree.dataset.wired) {
    tree.dataset.wired = '1';
    tree.addEventListener('click', async (e) => {
      const b = e.target.closest('button.node');
      if (!b) return;
      const key = b.dataset.v2key;
      const li = b.closest('li');
      if (b.classList.contains('dir')) {
        const open = li.querySelector(':scope > ul');
        if (open) { open.remove(); li.setAttribute('aria-expanded', 'false'); return; }
        const ul = document.createElement('ul');
        li.append(ul); li.setAttribute('aria-expanded', 'true');
        try { await list(key, ul); } catch (err) { notify(err); }
        fill({ key, dir: true });
        return;
      }
      try { fill((await v2('GET', key)).node); } catch (err) { notify(err); }
    });
    $('v2-form').addEventListener('submit', async (e) => {
      e.preventDefault();
      const key = $('v2-key').value.trim();
      if (!key.startsWith('/')) { notify(new Error('v2 keys start with "/".')); return; }
      const ttl = $('v2-ttl').value.trim();
      if (ttl && !/^[0-9]{1,10}$/.test(ttl)) { notify(new Error(`Invalid TTL "${ttl}".`)); return; }
      const params = $('v2-dir').checked ? { dir: 'true' } : { value: $('v2-value').value };
      if (ttl) params.ttl = ttl;
      if ($('v2-dir').checked && $('v2-key').dataset.exists === '1') params.prevExist = 'true';
      try {
        const r = await v2('PUT', key, params);
        notify(null, `${r.action} ${r.node.key}`);
        await renderV2(notify);
        fill(r.node);
      } catch (err) { notify(err); }
    });
    $('v2-delete').addEventListener('click', async () => {
      const key = $('v2-key').value.trim();
      const params = $('v2-dir').checked ? { recursive: 'true' } : null;
      try {
        const r = await v2('DELETE', key, null, params ? '?recursive=true' : '');
        notify(null, `${r.action} ${r.node.key}`);
        await renderV2(notify);
      } catch (err) { notify(err); }
    });
  }
}

function fill(n) {
  $('v2-key').value = n.key; $('v2-key').dataset.exists = '1';
  $('v2-dir').checked = !!n.dir;
  $('v2-value').value = n.value ?? '';
  $('v2-value').disabled = !!n.dir;
  $('v2-ttl').value = n.ttl ? String(n.ttl) : '';
  $('v2-meta').textContent = n.dir ? 'directory' : `modifiedIndex ${n.modifiedIndex ?? ''}, createdIndex ${n.createdIndex ?? ''}${n.expiration ? ', expires ' + n.expiration : ''}`;
}
