import { problem, type HoshiModule, type ModuleContext } from '../../firmware/device/core/module';
import { Asset } from '../../firmware/device/core/assets';

/**
 * CSP of the page (CSP Level 3). The page carries its own policy too, a meta element naming its one
 * script and one style by SHA-256 (firmware/host/page.ts), and a browser enforces both: only that
 * script and that style run. This header adds what a meta element cannot say (frame-ancestors:
 * no other site may frame the page) and stands for the rest where the page's is missing; it
 * allows inline code because the device cannot know the page's hashes (the page is built apart
 * from the image).
 */
const CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** gzip's first three bytes (RFC 1952 §2.3.1: ID1, ID2, CM = deflate) and its smallest member. */
const enum Gzip {
  ID1 = 0x1f,
  ID2 = 0x8b,
  DEFLATE = 8,
  MIN = 20,
}

/**
 * admin-page: `GET /` (public) answers the admin page (modules/admin-page/page.html and page.ts),
 * gzipped, from the assets partition (core/assets.ts). The bytes are read from flash at each
 * request and dropped with the answer: the page never stays in the heap. A missing or corrupt page
 * is answered 503 `no-page` with the reason; the API works without it. The answer is always gzip
 * (every browser accepts it; `curl --compressed` for curl).
 */
export let adminPage = function (): HoshiModule {
  // A device composes its image once: the factory lets go of itself (firmware/device/boot.ts).
  let once = true;
  HOSHI_HOST: once = false;
  if (once) adminPage = undefined as never;
  return {
    name: 'admin-page',
    start: (context: ModuleContext): void => {
      const assets = context.assets;
      context.route({
        method: 'GET',
        path: '/',
        access: 'public',
        handler: (_request, reply) => {
          const span = assets.find(Asset.PAGE);
          if (!span) {
            reply(problem(503, 'no-page', 'the admin page is not installed: ' + (assets.problem() || 'no page in the assets')));
            return;
          }
          const body = span.length >= Gzip.MIN ? assets.read(span.offset, span.length) : undefined;
          if (!body || body[0] !== Gzip.ID1 || body[1] !== Gzip.ID2 || body[2] !== Gzip.DEFLATE) {
            reply(problem(503, 'no-page', 'the admin page in the assets is not gzip'));
            return;
          }
          reply({
            status: 200,
            headers: { 'Content-Type': 'text/html; charset=utf-8', 'Content-Encoding': 'gzip', 'Content-Security-Policy': CSP },
            body: body,
          });
        },
      });
    },
  };
};
