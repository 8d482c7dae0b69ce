import type { LoraConfig } from "./config.js";

/**
 * Which modules an adapter targets, matched as PEFT does (check_target_module_exists):
 * - a string is a regular expression that must match the whole module name (re.fullmatch);
 * - a list matches a name exactly or as a dotted suffix ("c_attn" matches "transformer.h.0.attn.c_attn");
 * - excludeModules and modulesToSave are never targeted;
 * - layersToTransform keeps only names whose first numbered segment (after layersPattern) is listed.
 */

/** Python's re.fullmatch for the common regex subset (JS and Python agree on it). */
export function fullMatch(pattern: string, key: string): boolean {
  return new RegExp(`^(?:${pattern})$`).test(key);
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

function matchesList(list: readonly string[], key: string): boolean {
  return list.includes(key) || list.some((t) => key.endsWith(`.${t}`));
}

/** Whether `key` is one of (or inside one of) the modulesToSave names. */
export function isModuleToSave(modulesToSave: readonly string[] | null, key: string): boolean {
  // PEFT: re.match(rf"(^|.*\.){m}($|\..*)", key) for m in modules_to_save
  return (modulesToSave ?? []).some((m) => new RegExp(`^(?:|.*\\.)${m}(?:$|\\..*)`).test(key));
}

export function isExcluded(config: LoraConfig, key: string): boolean {
  const ex = config.excludeModules;
  if (ex) {
    if (typeof ex === "string" ? fullMatch(ex, key) : matchesList(ex, key)) return true;
  }
  return isModuleToSave(config.modulesToSave, key);
}

/** PEFT's check_target_module_exists for a resolved targetModules (not "all-linear"). */
export function isTargeted(config: LoraConfig, key: string): boolean {
  if (isExcluded(config, key)) return false;
  const t = config.targetModules;
  if (t === null) return false;
  if (typeof t === "string") return fullMatch(t, key);
  if (t.includes(key)) return true;
  let found = t.some((name) => key.endsWith(`.${name}`));
  const idx = config.layersToTransform;
  const usingIndexes = idx !== null && (Array.isArray(idx) ? idx.length !== 0 : true);
  if (usingIndexes && found) {
    let m: RegExpMatchArray | null = null;
    const pat = config.layersPattern;
    if (pat === null || pat.length === 0) {
      // Lazy: the first numbered segment is the layer index (not an expert index deeper down).
      m = key.match(/^.*?\.[^.]*\.(\d+)\./);
    } else {
      for (const p of typeof pat === "string" ? [pat] : pat) {
        m = key.match(new RegExp(`^.*?\\.${p}\\.(\\d+)\\.`));
        if (m) break;
      }
    }
    if (m === null) found = false;
    else {
      const layer = Number(m[1]);
      found = typeof idx === "number" ? layer === idx : (idx as number[]).includes(layer);
    }
  }
  return found;
}

/**
 * PEFT's get_pattern_key: the first rankPattern/alphaPattern key that matches the end of the module
 * name on a dot boundary (re.match(rf"(.*\.)?({key})$", name)).
 */
export function patternKey(patterns: readonly string[], key: string): string | undefined {
  return patterns.find((p) => new RegExp(`^(?:.*\\.)?(?:${p})$`).test(key));
}

export { escapeRe };
