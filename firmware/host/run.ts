import type { Image } from '../device/image';
import { startSimulator } from './simulator';

/**
 * Runs an image on the host board until Ctrl+C: `[--dir DIR] [--port N]`. The simulated unit lives
 * in DIR (default .hoshi/<model>), so a second start finds the same flash.
 */
export async function runImage(image: Image, args: string[]): Promise<void> {
  const option = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const dir = option('--dir') ?? '.hoshi/' + image.config.model;
  const port = Number(option('--port') ?? 8080);
  const sim = await startSimulator({ image, dir, port });
  console.log('[host] flash: ' + dir + '/flash.bin (boot ' + sim.boots + ')');
  console.log('[host] device info: ' + sim.url + '/api/info');
  console.log('[host] Ctrl+C stops the device');
  const stop = (): void => {
    sim.stop();
    console.log('\n[host] stopped; the flash keeps its state');
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
