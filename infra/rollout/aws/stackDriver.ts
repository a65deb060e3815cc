/**
 * The one thin port between the rollout and the Pulumi stack: read outputs and config, set
 * config in the workspace, run an `up` limited to named resources. `automationDriver` implements
 * it with the Pulumi Automation API (`LocalWorkspace.selectStack` on the project directory, so
 * the workspace is the checkout CI runs in); tests implement it with a recorder, so every call
 * the adapters make is asserted without a Pulumi CLI.
 *
 * Config set here lands in `Pulumi.<stack>.yaml` of that checkout and is never committed: the
 * intermediate weights of a rollout are applied, not recorded in Git, and the rollout always
 * ends at the committed routing (or the starting one, when it rolls back).
 */
import { LocalWorkspace, type Stack } from "@pulumi/pulumi/automation";
import { PROJECT_NAME } from "../../config";

/** A stack output as the Automation API reports it. */
export interface StackOutput {
  readonly value: unknown;
  readonly secret: boolean;
}

export interface StackDriver {
  /** The stack's outputs. */
  outputs(): Promise<Readonly<Record<string, StackOutput>>>;
  /**
   * The stack's config as the program reads it: project keys without namespace, `aws:region`
   * as is; objects as JSON text, secrets decrypted.
   */
  config(): Promise<Readonly<Record<string, string>>>;
  /** Sets project config keys in the workspace, path syntax (`green.replicas`). */
  setConfig(values: Readonly<Record<string, string>>): Promise<void>;
  /** `pulumi up` of exactly these resources (URNs), nothing else; `message` names the update. */
  up(targets: readonly string[], message: string): Promise<void>;
}

/** The Automation API calls the driver makes (a `Stack` has them all). */
export type AutomationStack = Pick<Stack, "outputs" | "getAllConfig" | "setAllConfig" | "up">;

/** The driver over an Automation API stack; `log` receives the engine's output of each `up`. */
export function automationDriver(
  stack: AutomationStack,
  log: (text: string) => void = () => undefined,
): StackDriver {
  const prefix = `${PROJECT_NAME}:`;
  return {
    async outputs() {
      const out = await stack.outputs();
      return Object.fromEntries(
        Object.entries(out).map(([k, v]) => [k, { value: v.value, secret: v.secret }]),
      );
    },
    async config() {
      const all = await stack.getAllConfig();
      const raw: Record<string, string> = {};
      for (const [key, v] of Object.entries(all)) {
        if (key.startsWith(prefix)) raw[key.slice(prefix.length)] = v.value;
        else if (key === "aws:region") raw[key] = v.value;
      }
      return raw;
    },
    async setConfig(values) {
      const config = Object.fromEntries(
        Object.entries(values).map(([k, value]) => [`${prefix}${k}`, { value }]),
      );
      await stack.setAllConfig(config, true);
    },
    async up(targets, message) {
      if (targets.length === 0) throw new Error("refusing an untargeted up: name the resources to update");
      await stack.up({ target: [...targets], targetDependents: false, message, onOutput: log });
    },
  };
}

/** Options of {@link openStack}. */
export interface OpenStackOptions {
  /** Stack name (`dev`). */
  readonly stack: string;
  /** The Pulumi project directory (holds Pulumi.yaml and the stack files). */
  readonly workDir: string;
  /** Receives the output of each `up`. Default: none. */
  readonly log?: (text: string) => void;
}

/** Selects an existing stack of the project in `workDir` with the Pulumi CLI on PATH. */
export async function openStack(opts: OpenStackOptions): Promise<StackDriver> {
  const stack = await LocalWorkspace.selectStack({ stackName: opts.stack, workDir: opts.workDir });
  return automationDriver(stack, opts.log);
}
