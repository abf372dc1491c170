/**
 * The live page's only script: every few seconds it fetches the page again and swaps in the parts
 * (`data-live`) whose HTML changed, so nothing flickers, the scroll stays, and nothing but the
 * page's own address is fetched. A failed fetch marks the page offline until one succeeds.
 */
export const refreshScript = (everyMs: number): string => `<script>
(() => {
  let busy = false;
  const tick = async () => {
    if (busy || document.hidden) return;
    busy = true;
    try {
      const res = await fetch(location.pathname, { cache: 'no-store', headers: { accept: 'text/html' } });
      if (!res.ok) throw new Error(String(res.status));
      const next = new DOMParser().parseFromString(await res.text(), 'text/html');
      for (const part of next.querySelectorAll('[data-live]')) {
        const here = document.querySelector('[data-live="' + part.getAttribute('data-live') + '"]');
        if (here && here.innerHTML !== part.innerHTML) here.innerHTML = part.innerHTML;
      }
      document.body.classList.remove('offline');
    } catch {
      document.body.classList.add('offline');
    } finally {
      busy = false;
    }
  };
  setInterval(tick, ${Math.max(500, Math.round(everyMs))});
})();
</script>`;
