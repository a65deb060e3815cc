/**
 * The README's configuration reference, generated from `CONFIG_SCHEMA` (infra/config.ts, which a
 * test keeps in step with Pulumi.yaml), so a key added to the program is documented by
 * `npm run docs` and a stale entry fails the README test.
 */
import { CONFIG_SCHEMA, PROJECT_NAME, type ConfigKeySpec } from "../infra/config";

/** Longest line the reference writes; continuation lines are indented under the bullet. */
const WIDTH = 100;

function wrap(text: string, width: number, indent: string): string[] {
  const lines: string[] = [];
  let line = "";
  // A code span is one word: a line break inside one is reflowed by prettier, and reads badly.
  const words = text.match(/(?:`[^`]*`|[^\s`])+/g) ?? [];
  for (const word of words) {
    const next = line === "" ? word : `${line} ${word}`;
    if (next.length > width && line !== "") {
      lines.push(line);
      line = indent + word;
    } else {
      line = next;
    }
  }
  if (line !== "") lines.push(line);
  return lines;
}

const KIND_NAMES: Readonly<Record<ConfigKeySpec["kind"], string>> = {
  string: "string",
  integer: "integer",
  boolean: "boolean",
  stringList: "list of strings",
  color: "object",
  rollout: "object",
};

function defaultText(spec: ConfigKeySpec): string {
  const v = spec.default;
  if (typeof v === "string") return v === "" ? '`""`' : `\`${v}\``;
  if (typeof v === "object" && v !== null && !Array.isArray(v)) {
    // One code span per field, so a long object wraps between fields.
    const fields = Object.entries(v).map(([k, x]) => `\`${k}: ${JSON.stringify(x)}\``);
    return `{${fields.join(", ")}}`;
  }
  return `\`${JSON.stringify(v)}\``;
}

/** One bullet per key, in Pulumi.yaml order: name, kind, default, then the description. */
export function configReference(): string {
  const lines = [
    `Keys are in the \`${PROJECT_NAME}\` namespace (\`pulumi config set <key> <value>\`), plus`,
    "`aws:region` (required).",
    "",
  ];
  for (const spec of CONFIG_SCHEMA) {
    const head = `- **\`${spec.key}\`** (${KIND_NAMES[spec.kind]}, default ${defaultText(spec)}): ${spec.description}`;
    lines.push(...wrap(head, WIDTH, "  "));
  }
  return lines.join("\n");
}
