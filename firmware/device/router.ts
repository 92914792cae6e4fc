import { problem, type HttpResponse, type Route } from './core/module';

/**
 * Routing, decided from the request line alone (before any of the body is read): the route with
 * the request's method and exact path; HEAD is served by the GET route (without its body). Unknown
 * paths get 404, known paths with another method 405 (with Allow). A route whose access is not
 * "public" is refused with 401: no module grants access yet, and a route never opens by accident
 * (S1.1-01).
 */
export function findRoute(routes: Route[], method: string, path: string): Route | HttpResponse {
  const wanted = method === 'HEAD' ? 'GET' : method;
  let allow = '';
  for (let i = 0; i < routes.length; i++) {
    const r = routes[i];
    if (r.path !== path) continue;
    if (r.method !== wanted) {
      allow += (allow ? ', ' : '') + r.method + (r.method === 'GET' ? ', HEAD' : '');
      continue;
    }
    if (r.access !== 'public') return problem(401, 'unauthenticated', 'this route needs ' + r.access + ' access');
    return r;
  }
  if (allow) {
    const response = problem(405, 'method-not-allowed', method + ' is not allowed here');
    response.headers!['Allow'] = allow;
    return response;
  }
  return problem(404, 'not-found', 'no such route');
}
