import { json, type HoshiModule, type ModuleContext } from '../../firmware/device/core/module';

/**
 * device-info: `GET /api/info`, public. Shows what ★1 asks a device to show without login: the
 * model number and hardware revision (S1.1-10), the installed firmware version (S1.1-06), the end of
 * the support period (S1.1-16) and where to report vulnerabilities (S1.1-05), from the image's
 * configuration; the board and its revision as the runtime names them; and what modules publish:
 * the security counter (modules/ota), the interfaces left open (modules/interfaces). Nothing
 * secret: every field is public.
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
              hardwareRevision: c.hardwareRevision,
              board: id.model,
              boardRevision: id.hardwareRevision,
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
