import { problem, type Guard, type HttpResponse, type Route, type RouteHandler } from './core/module';
import type { RequestHead } from './core/http-parser';

/**
 * Routing, decided from the request's head (before any of the body is read): the route with the
 * request's method and exact path; HEAD is served by the GET route (without its body). Unknown
 * paths get 404, known paths with another method 405 (with Allow).
 *
 * Access control in one place: a public route is served; any other route only if the guard
 * (modules/accounts) grants it, possibly through a handler of its own (the admin channel's). Without a guard, every non-public route is refused with 401: a
 * route never opens by accident (S1.1-01). (One function: on Kaluma each holds its bytecode.)
 */
export function routeRequest(routes: Route[], guard: Guard | undefined, head: RequestHead): RouteHandler | HttpResponse {
  const method = head.method;
  const wanted = method === 'HEAD' ? 'GET' : method;
  let allow = '';
  for (let i = 0; i < routes.length; i++) {
    const r = routes[i];
    if (r.path !== head.path) continue;
    if (r.method !== wanted) {
      allow += (allow ? ', ' : '') + r.method + (r.method === 'GET' ? ', HEAD' : '');
      continue;
    }
    if (r.access === 'public') return r.handler;
    return (guard ? guard(head, r) : problem(401, 'unauthenticated', 'this image has no authentication module')) || r.handler;
  }
  if (allow) {
    const response = problem(405, 'method-not-allowed', method + ' is not allowed here');
    response.headers!['Allow'] = allow;
    return response;
  }
  return problem(404, 'not-found', 'no such route');
}
