import { json, type HoshiModule, type ModuleContext } from '../../firmware/device/core/module';

/**
 * device-info: `GET /api/info`, public. Shows what ★1 asks a device to show without login: the
 * model number (S1.1-10), the installed firmware version (S1.1-06), the end of the support period
 * (S1.1-16) and where to report vulnerabilities (S1.1-05). Nothing secret: every field is public.
 */
export let deviceInfo = function (): HoshiModule {
  // A device composes its image once: the factory lets go of itself (firmware/device/boot.ts).
  let once = true;
  HOSHI_HOST: once = false;
  if (once) deviceInfo = undefined as never;
  return {
    name: 'device-info',
    start: function (context: ModuleContext): void {
      context.route({
        method: 'GET',
        path: '/api/info',
        access: 'public',
        // Built per request (the fields do not change): nothing of it is held between requests.
        handler: function (_request, reply): void {
          const c = context.config;
          const id = context.board.identity;
          reply(
            json(200, {
              model: c.model,
              vendor: c.vendor,
              firmwareVersion: c.firmwareVersion,
              serial: context.provisioning ? context.provisioning.serial : null,
              provisioned: context.provisioning !== undefined,
              board: id.model,
              hardwareRevision: id.hardwareRevision,
              supportEnd: c.supportEnd,
              vulnerabilityDisclosure: c.vulnerabilityDisclosureUrl,
              // What modules publish (modules/ota: securityCounter, update).
              status: context.status,
            }),
          );
        },
      });
    },
  };
};
