// The leases page: every lease with its remaining TTL (counting down
// live), granted TTL and attached keys; grant and revoke. At most
// LEASES_SHOWN leases are detailed (one time-to-live call each).

import { leaseHex, showKey, toB64url } from './bytes.js';
import { leaseGrant, leaseList, leaseRevoke, leaseTtl } from './kv.js';

export const LEASES_SHOWN = 200;

const $ = (id) => document.getElementById(id);
let ticker = null;

export async function renderLeases(notify, confirm) {
  clearInterval(ticker);
  let ids;
  try { ids = await leaseList(); } catch (e) { notify(e); return; }
  const body = $('leases').tBodies[0];
  body.replaceChildren();
  $('leases-note').textContent = ids.length > LEASES_SHOWN ? `${ids.length} leases; showing the first ${LEASES_SHOWN}.` : ids.length ? '' : 'No leases.';
  const rows = [];
  for (const id of ids.slice(0, LEASES_SHOWN)) {
    let t;
    try { t = await leaseTtl(id, true); } catch (e) { notify(e); continue; }
    if (!t) continue;
    const tr = document.createElement('tr');
    tr.dataset.lease = leaseHex(id);
    tr.innerHTML = '<td class="mono"></td><td class="countdown"></td><td></td><td class="mono"></td><td><button type="button" class="danger">Revoke</button></td>';
    tr.cells[0].textContent = leaseHex(id);
    tr.cells[2].textContent = `${t.granted} s`;
    for (const k of t.keys.slice(0, 50)) {
      const a = document.createElement('a');
      a.href = '#/key/' + toB64url(k); a.textContent = showKey(k);
      tr.cells[3].append(a, ' ');
    }
    if (t.keys.length > 50) tr.cells[3].append(`… ${t.keys.length - 50} more`);
    tr.querySelector('button').addEventListener('click', async () => {
      if (!(await confirm(`Revoke lease ${leaseHex(id)}? Its ${t.keys.length} key(s) will be deleted.`))) return;
      try { await leaseRevoke(id); notify(null, `Revoked lease ${leaseHex(id)}.`); renderLeases(notify, confirm); } catch (e) { notify(e); }
    });
    body.append(tr);
    rows.push({ tr, at: Date.now() + t.ttl * 1000 });
  }
  const tick = () => { for (const r of rows) r.tr.cells[1].textContent = `${Math.max(0, Math.ceil((r.at - Date.now()) / 1000))} s`; };
  tick();
  ticker = setInterval(tick, 1000);
}

export async function grantFromForm(notify, confirm) {
  const ttl = $('lease-grant-ttl').value.trim();
  if (!/^[1-9][0-9]{0,9}$/.test(ttl)) { notify(new Error(`Invalid TTL "${ttl}" (whole seconds, at least 1).`)); return; }
  try {
    const id = await leaseGrant(Number(ttl));
    notify(null, `lease ${leaseHex(id)} granted with TTL(${ttl}s)`);
    await renderLeases(notify, confirm);
  } catch (e) { notify(e); }
}

export function stopLeases() { clearInterval(ticker); }
