// kmod's modname_normalize: "-" and "_" in a module name are the same character (sysfs driver names and
// modules.dep use either). The one normaliser for every comparison of module names.

/** "snd-hda-intel" -> "snd_hda_intel": the key two module names are compared by. */
export function moduleKey(name: string): string {
  return name.replaceAll('-', '_');
}
