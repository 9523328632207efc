/**
 * Test helper: a static reading of the Dockerfile (instructions, line continuations and heredocs) and
 * of `.dockerignore` with Docker's matching rules.
 *
 * @module
 */

/** One Dockerfile instruction. */
export interface Instruction {
  /** Upper-cased keyword (`FROM`, `RUN`, `COPY`…). */
  keyword: string;
  /** Everything after the keyword, continuation lines joined with a space. */
  args: string;
  /** Heredoc bodies attached to the instruction, by delimiter. */
  heredocs: Record<string, string>;
  /** 1-based line of the keyword. */
  line: number;
}

/** Splits a Dockerfile into instructions (comments and blank lines dropped). */
export function parseDockerfile(text: string): Instruction[] {
  const lines = text.split("\n");
  const out: Instruction[] = [];
  let i = 0;
  while (i < lines.length) {
    const start = i;
    let line = lines[i++];
    if (/^\s*(#|$)/.test(line)) continue;
    while (line.endsWith("\\") && i < lines.length) {
      let next = lines[i++];
      while (/^\s*#/.test(next) && i < lines.length) next = lines[i++];
      line = line.slice(0, -1) + " " + next.trim();
    }
    const m = /^\s*([A-Za-z]+)\s*(.*)$/.exec(line);
    if (!m) throw new Error(`Unparseable Dockerfile line ${start + 1}: ${line}`);
    const heredocs: Record<string, string> = {};
    for (const h of m[2].matchAll(/<<-?(['"]?)([A-Za-z_]+)\1/g)) {
      const body: string[] = [];
      while (i < lines.length && lines[i] !== h[2]) body.push(lines[i++]);
      if (i >= lines.length) throw new Error(`Unterminated heredoc ${h[2]} from line ${start + 1}`);
      i++;
      heredocs[h[2]] = body.join("\n") + "\n";
    }
    out.push({ keyword: m[1].toUpperCase(), args: m[2].trim(), heredocs, line: start + 1 });
  }
  return out;
}

/** One `.dockerignore` rule. */
export interface IgnoreRule {
  /** False for a `!` exception. */
  exclude: boolean;
  /** The pattern, anchored. */
  re: RegExp;
}

function globToRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*" && glob[i + 1] === "*") {
      // "**/" matches any number of folders, "**" anything.
      if (glob[i + 2] === "/") {
        re += "(?:.*/)?";
        i += 2;
      } else {
        re += ".*";
        i++;
      }
    } else if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else re += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

/** Parses `.dockerignore`: one pattern per line, `#` comments, `!` re-includes, paths from the context root. */
export function parseDockerignore(text: string): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const exclude = !line.startsWith("!");
    const pattern = (exclude ? line : line.slice(1)).trim().replace(/^\/+/, "").replace(/\/+$/, "");
    rules.push({ exclude, re: globToRegExp(pattern) });
  }
  return rules;
}

/**
 * Whether Docker leaves `path` (relative to the context root) out of the build context: the last rule
 * matching the path or one of its parent folders decides.
 */
export function isIgnored(rules: readonly IgnoreRule[], path: string): boolean {
  const parts = path.split("/");
  const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join("/"));
  let ignored = false;
  for (const rule of rules) {
    if (prefixes.some((p) => rule.re.test(p))) ignored = rule.exclude;
  }
  return ignored;
}
