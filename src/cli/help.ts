/**
 * Help and shell integration: examples under every command's `--help`, and
 * `ggen completions bash|zsh|fish` generated from the command tree (so it never drifts).
 * @module
 */
import type { Command } from "commander";
import { UsageError } from "./usage.ts";

/** Examples per command path (as typed after `ggen`) */
const EXAMPLES: Record<string, string[]> = {
  "": ["ggen search rust", "ggen install io.ggen.rust.cli", "ggen --json list"],
  search: ["ggen search rust cli", "ggen search --p2p templates"],
  info: ["ggen info io.ggen.rust.cli", "ggen info io.ggen.rust.cli@^1.2 --json"],
  install: [
    "ggen install io.ggen.rust.cli",
    "ggen install io.ggen.ts.api@^2.1 io.ggen.ci.github",
    "ggen install --locked",
  ],
  update: ["ggen update", "ggen update io.ggen.rust.cli"],
  outdated: ["ggen outdated", "ggen outdated --json"],
  tree: ["ggen tree"],
  list: ["ggen list", "ggen list --json"],
  verify: ["ggen verify"],
  remove: ["ggen remove io.ggen.rust.cli"],
  init: ["ggen init my-templates --id io.example.templates"],
  pack: ["ggen pack --list .", "ggen pack . --out pkg.tar.gz"],
  publish: ["ggen publish --dry-run .", "ggen publish ."],
  yank: ["ggen yank io.example.templates@1.0.1", "ggen yank io.example.templates@1.0.1 --undo"],
  login: ["ggen login < token.txt"],
  logout: ["ggen logout"],
  version: ["ggen version --json"],
  completions: ["ggen completions bash > ~/.local/share/bash-completion/completions/ggen"],
  "config show": ["ggen config show"],
  "config get": ["ggen config get registry.mode"],
  "config set": [
    "ggen config set registry.mode p2p-first",
    "ggen config set registry.p2p.bootstrap /ip4/10.0.0.5/tcp/4001/p2p/12D3KooW…",
  ],
  "cache verify": ["ggen cache verify"],
  "cache clean": ["ggen cache clean"],
  "cache dir": ["ggen cache dir"],
  "key generate": ["ggen key generate --name work"],
  "key list": ["ggen key list"],
  "key export": ["ggen key export --name work"],
  trust: ["ggen trust io.example.templates SHA256:Gk9COKw…"],
  "owner list": ["ggen owner list io.example.templates"],
  "owner add": ["ggen owner add io.example.templates <base64 public key>"],
  "owner remove": ["ggen owner remove io.example.templates <base64 public key>"],
  "p2p start": ["ggen p2p start", "ggen p2p start --bootstrap-node --listen /ip4/0.0.0.0/tcp/4001 --metrics"],
  "p2p stop": ["ggen p2p stop"],
  "p2p ui": ["ggen p2p ui", "ggen p2p ui --open"],
  "p2p status": ["ggen p2p status"],
  "p2p peers": ["ggen p2p peers --json"],
  "p2p ban": ["ggen p2p ban 12D3KooW… --minutes 120"],
  "p2p unban": ["ggen p2p unban 12D3KooW…"],
  "p2p publish": ["ggen p2p publish ."],
  "p2p psk generate": ["ggen p2p psk generate --out ~/.ggen/swarm.key"],
  "registry serve": [
    "ggen registry serve --data ./ggen-registry --port 8080",
    "ggen registry serve --config registry.toml",
  ],
  "registry token create": ["ggen registry token create --data ./ggen-registry --name ci --scopes publish"],
  "registry token revoke": ["ggen registry token revoke <token id> --data ./ggen-registry"],
  "registry config check": ["ggen registry config check registry.toml"],
  "registry migrate": ["ggen registry migrate --from ./ggen-registry --to registry.toml"],
  "registry import": [
    "ggen registry import --data ./ggen-registry ./marketplace/packages",
    "ggen registry import --data ./ggen-registry ./marketplace/registry/index.json",
  ],
  "registry export": [
    "ggen registry export --data ./ggen-registry ./site",
    "ggen --registry https://example.org/ggen/index.json search rust",
  ],
  demo: ["ggen demo"],
  registry: ["ggen registry serve --data ./ggen-registry", "ggen registry token create --data ./ggen-registry"],
  "registry config": ["ggen registry config check registry.toml"],
  "registry token": ["ggen registry token create --data ./ggen-registry --name ci"],
  config: ["ggen config show", "ggen config get registry.mode"],
  p2p: ["ggen p2p start", "ggen p2p status", "ggen p2p peers"],
  "p2p psk": ["ggen p2p psk generate"],
  key: ["ggen key generate", "ggen key list"],
  owner: ["ggen owner list io.example.templates"],
  cache: ["ggen cache verify", "ggen cache dir"],
};

/** Every command with its path ("" for the program, "p2p start", …) */
function walk(cmd: Command, path: string[] = []): { path: string; cmd: Command }[] {
  return [
    { path: path.join(" "), cmd },
    ...cmd.commands.flatMap((c) => walk(c, [...path, c.name()])),
  ];
}

/** Add the examples to every command's help (call after every command is defined) */
export function addExamples(program: Command): void {
  for (const { path, cmd } of walk(program)) {
    const examples = EXAMPLES[path];
    if (examples) cmd.addHelpText("after", `\nExamples:\n${examples.map((e) => `  $ ${e}`).join("\n")}\n`);
  }
}

/** The completion script for `shell`, from the command tree */
export function completionScript(program: Command, shell: string): string {
  const all = walk(program);
  const children = (path: string) => all.find((w) => w.path === path)!.cmd.commands.map((c) => c.name());
  const optionsOf = (cmd: Command) => cmd.options.map((o) => o.long).filter((o): o is string => Boolean(o));
  const globals = optionsOf(program);
  const parents = all.filter((w) => w.cmd.commands.length > 0);
  switch (shell) {
    case "bash":
    case "zsh": {
      // The longest command path already typed decides what comes next
      const cases = all.map((w) =>
        `    "${w.path}") words="${
          [...children(w.path), ...(w.path === "" ? globals : [...optionsOf(w.cmd), ...globals])].join(" ")
        }" ;;`
      ).join("\n");
      return `${shell === "zsh" ? "autoload -U +X bashcompinit && bashcompinit\n" : ""}_ggen() {
  local cur=\${COMP_WORDS[COMP_CWORD]} path="" candidate words i
  for ((i = 1; i < COMP_CWORD; i++)); do
    candidate="\${path:+$path }\${COMP_WORDS[i]}"
    case "$candidate" in
      ${
        parents.flatMap((w) => w.cmd.commands.map((c) => `"${w.path ? `${w.path} ` : ""}${c.name()}"`)).join("|")
      }) path="$candidate" ;;
    esac
  done
  case "$path" in
${cases}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _ggen ggen
`;
    }
    case "fish": {
      const lines = ["complete -c ggen -f"];
      for (const o of globals) lines.push(`complete -c ggen -l ${o.slice(2)}`);
      for (const w of parents) {
        const condition = w.path === ""
          ? "__fish_use_subcommand"
          : `__fish_seen_subcommand_from ${w.path.split(" ").at(-1)}`;
        for (const c of w.cmd.commands) {
          const description = c.description().replaceAll("'", "\\'");
          lines.push(`complete -c ggen -n '${condition}' -a ${c.name()} -d '${description}'`);
        }
      }
      return lines.join("\n") + "\n";
    }
    default:
      throw new UsageError(`Unknown shell "${shell}": choose bash, zsh or fish`);
  }
}
