// The kernel's own way of splitting a command line into parameters (kernel/params.c next_arg()), used wherever
// the project reads or writes one: /proc/cmdline (probe), rendered Xen/GRUB lines (emit), module options handed to
// modprobe (apply). Whitespace (the kernel's isspace(): space, \t \n \v \f \r) ends a token unless inside double
// quotes; the quotes stay in the token; an unclosed quote runs to the end.
export function splitCmdline(text: string): string[] {
  const tokens: string[] = [];
  let token = '';
  let quoted = false;
  for (const ch of text) {
    if (!quoted && /[ \t\n\v\f\r]/.test(ch)) {
      if (token !== '') tokens.push(token);
      token = '';
      continue;
    }
    if (ch === '"') quoted = !quoted;
    token += ch;
  }
  if (token !== '') tokens.push(token);
  return tokens;
}
