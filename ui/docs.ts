/**
 * `/docs`: Swagger UI over `/openapi.json`, every file served by Tally (swagger-ui-dist, copied into the
 * assets at build time), so the reference renders offline and under the `'self'` content security policy.
 */
interface SwaggerUiBundle {
  (options: { url: string; dom_id: string; validatorUrl: null; deepLinking: boolean }): unknown;
}
declare global {
  interface Window {
    SwaggerUIBundle?: SwaggerUiBundle;
  }
}

// The bundle is a classic deferred script and this a module: modules run after deferred scripts, in order.
window.SwaggerUIBundle?.({ url: document.getElementById("swagger-ui")?.dataset.url ?? "/openapi.json", dom_id: "#swagger-ui", validatorUrl: null, deepLinking: false });

// Swagger UI renders its server picker without a label (axe select-name): name it once it appears.
new MutationObserver((_changes, observer) => {
  const servers = document.querySelector<HTMLSelectElement>("select#servers");
  if (!servers) return;
  servers.setAttribute("aria-label", "Server");
  observer.disconnect();
}).observe(document.body, { childList: true, subtree: true });
export {};
