import { json, problem, type HoshiModule, type ModuleContext } from '../../firmware/device/core/module';
import type { Pin } from '../../hal/io';

/** Store key of the lowest and highest temperatures seen: two signed 16-bit tenths of °C. */
export const RANGE_KEY = 'sensor.range';
const SAMPLE_MS = 60000;

export interface TemperatureSensor {
  /** The analog input per board (`board.name` → pin). */
  pins: { [board: string]: Pin };
  /** Volts at the ADC's full scale (ESP32 with Espruino's default attenuation: about 3.3). */
  fullScaleVolts: number;
  /** Sensor output: volts at 0 °C and volts per °C (LM35: 0 and 0.010; TMP36: 0.5 and 0.010). */
  offsetVolts: number;
  voltsPerDegree: number;
}

/**
 * The environment sensor's product function: `GET /api/reading` (public) answers the temperature
 * read from an analog sensor now, with the raw ADC fraction it came from:
 * `{"temperatureC": 23.1, "raw": 0.0700, "lowestC": 18.2, "highestC": 27.5}`. A reading the ADC
 * cannot give (outside [0, 1), e.g. an unconnected or shorted input on some boards) is answered with
 * 503 and a reason. The input is also sampled every minute; the lowest and highest temperatures
 * seen are kept in the device's store (modules/store), written only when one of them changes.
 */
export function temperatureSensor(s: TemperatureSensor): HoshiModule {
  return {
    name: 'temperature-sensor',
    reserve: [{ key: RANGE_KEY, bytes: 4, sealed: false }],
    start: (context: ModuleContext): void => {
      const pin = s.pins[context.board.name];
      if (pin === undefined) throw new Error('temperature-sensor: no pin configured for board ' + context.board.name);
      const store = context.store;
      let range = decodeRange(store.get(RANGE_KEY));
      /** The temperature now in tenths of °C, or the reason it cannot be read. */
      const sample = (): { tenths: number; raw: number } | string => {
        let raw: number;
        try {
          raw = context.board.io.analog(pin);
        } catch (error) {
          return 'the sensor input cannot be read: ' + (error as Error).message;
        }
        if (!(raw >= 0 && raw < 1)) return 'the ADC returned ' + raw;
        const tenths = Math.round(((raw * s.fullScaleVolts - s.offsetVolts) / s.voltsPerDegree) * 10);
        if (!range || tenths < range[0] || tenths > range[1]) {
          range = [range ? Math.min(range[0], tenths) : tenths, range ? Math.max(range[1], tenths) : tenths];
          store.set(RANGE_KEY, encodeRange(range));
        }
        return { tenths: tenths, raw: raw };
      };
      context.every(SAMPLE_MS, () => {
        sample();
      });
      context.route({
        method: 'GET',
        path: '/api/reading',
        access: 'public',
        handler: (_request, reply) => {
          const now = sample();
          if (typeof now === 'string') {
            reply(problem(503, 'sensor-unavailable', now));
            return;
          }
          reply(json(200, { temperatureC: now.tenths / 10, raw: Math.round(now.raw * 10000) / 10000, lowestC: range![0] / 10, highestC: range![1] / 10 }));
        },
      });
    },
  };
}

/** Two signed 16-bit little-endian values. */
export function encodeRange(range: number[]): Uint8Array {
  return new Uint8Array([range[0]! & 255, (range[0]! >> 8) & 255, range[1]! & 255, (range[1]! >> 8) & 255]);
}

/** A stored range (untrusted bytes): [lowest, highest] in tenths of °C, or undefined if not valid. */
export function decodeRange(bytes: Uint8Array | undefined): number[] | undefined {
  if (!bytes || bytes.length !== 4) return undefined;
  const low = ((bytes[0]! | (bytes[1]! << 8)) << 16) >> 16;
  const high = ((bytes[2]! | (bytes[3]! << 8)) << 16) >> 16;
  return low <= high ? [low, high] : undefined;
}
