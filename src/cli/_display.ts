// Text for a terminal from strings the machine supplied (DMI names, sysfs values, file names under --root, rule
// and modprobe.d text): a control character there would be obeyed by the terminal, not shown (an ESC[2J clears
// the screen, an ESC]0;...BEL retitles the window, a CR overwrites the line before it). JSON output needs none
// of this: JSON.stringify writes C0 controls as \uXXXX escapes already.

// C0 controls but TAB and LF (the listings' own layout), DEL, and the C1 controls U+0080-U+009F (U+009B is CSI
// on terminals that take 8-bit controls).
const CONTROLS = /[\x00-\x08\x0b-\x1f\x7f\u0080-\u009f]/g;

/** `text` with every control character but TAB and newline shown as \xNN (two hex digits), nothing else changed. */
export function forDisplay(text: string): string {
  return text.replace(CONTROLS, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
