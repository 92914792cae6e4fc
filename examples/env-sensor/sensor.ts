import type { HoshiModule, ModuleContext } from '../../firmware/device/image';
import { json, problem } from '../../firmware/device/router';
import type { Pin } from '../../hal/io';

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
 * `{"temperatureC": 23.1, "raw": 0.0700}`. A reading the ADC cannot give (outside [0, 1), e.g. an
 * unconnected or shorted input on some boards) is answered with 503 and a reason.
 */
export function temperatureSensor(s: TemperatureSensor): HoshiModule {
  return {
    name: 'temperature-sensor',
    start: (context: ModuleContext): void => {
      const pin = s.pins[context.board.name];
      if (pin === undefined) throw new Error('temperature-sensor: no pin configured for board ' + context.board.name);
      context.route({
        method: 'GET',
        path: '/api/reading',
        access: 'public',
        handler: (_request, reply) => {
          let raw: number;
          try {
            raw = context.board.io.analog(pin);
          } catch (error) {
            reply(problem(503, 'sensor-unavailable', 'the sensor input cannot be read: ' + (error as Error).message));
            return;
          }
          if (!(raw >= 0 && raw < 1)) {
            reply(problem(503, 'sensor-unavailable', 'the ADC returned ' + raw));
            return;
          }
          const celsius = (raw * s.fullScaleVolts - s.offsetVolts) / s.voltsPerDegree;
          reply(json(200, { temperatureC: Math.round(celsius * 10) / 10, raw: Math.round(raw * 10000) / 10000 }));
        },
      });
    },
  };
}
