// Reads the controller's settings from argv (+ --config FILE or REDLINE_CONFIG) and the
// environment. Shared by `redline controller` and `redline render tenant` so both see the same
// settings. Usage problems (unknown flag, missing value) and setting problems are kept apart:
// the first are bad usage, the second a bad configuration; both are reported all at once.

import { loadSettings, type LoadInput, type SettingProblem } from '../cli/settings.js';
import { CONTROLLER_SPEC, type ControllerSettings } from './settings.js';

export interface ControllerArgs {
  settings: ControllerSettings | null;
  problems: SettingProblem[];
  usage: string[];
  help: boolean;
  /** Values of the extra flags the caller declared (e.g. render's --namespace). */
  extras: Map<string, string>;
  /** Positional arguments. */
  positional: string[];
  configFile: string | null;
}

export type LoadControllerArgsInput = LoadInput;

export function loadControllerArgs(input: LoadControllerArgsInput): ControllerArgs {
  const { settings, problems, usage, help, extras, positional, configFile } = loadSettings<ControllerSettings>(CONTROLLER_SPEC, input);
  return {
    settings: settings as ControllerSettings | null,
    problems,
    usage: usage.map((u) => (u.issue === 'unknown' ? `unknown flag ${u.flag}` : `flag ${u.flag} needs a value`)),
    help,
    extras,
    positional,
    configFile,
  };
}
