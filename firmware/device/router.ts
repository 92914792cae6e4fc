import { problem, type HttpRequest, type HttpResponse, type Route } from './core/module';

/**
 * Dispatches a request to the route with its method and exact path. Unknown paths get 404, known
 * paths with another method 405 (with Allow). A route whose access is not "public" is refused with
 * 401 here: no module grants access yet, and a route never opens by accident (S1.1-01).
 */
export function dispatch(routes: Route[], request: HttpRequest, reply: (response: HttpResponse) => void): void {
  let allow = '';
  for (let i = 0; i < routes.length; i++) {
    const r = routes[i];
    if (r.path !== request.path) continue;
    if (r.method !== request.method) {
      allow += (allow ? ', ' : '') + r.method;
      continue;
    }
    if (r.access !== 'public') {
      reply(problem(401, 'unauthenticated', 'this route needs ' + r.access + ' access'));
      return;
    }
    r.handler(request, reply);
    return;
  }
  if (allow) {
    const response = problem(405, 'method-not-allowed', request.method + ' is not allowed here');
    response.headers!['Allow'] = allow;
    reply(response);
    return;
  }
  reply(problem(404, 'not-found', 'no such route'));
}
