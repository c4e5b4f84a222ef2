/**
 * The one naming rule for resource types (`target.type`) the library derives itself: from an
 * entity or model name (the ORM integrations) and from a controller path or class name (routes
 * without `@Audited`). Both must agree, or `history order 42` misses half of an order's events.
 */

/** Singular words that end in `s` (a plural rule would break them). */
const UNCHANGED: ReadonlySet<string> = new Set([
  'news',
  'series',
  'species',
  'analytics',
  'logistics',
  'physics',
  'economics',
  'mathematics',
  'politics',
  'ethics',
  'gas',
  'alias',
  'atlas',
  'bias',
  'canvas',
  'lens',
  'chassis',
  'corps',
  'sms',
  'dns',
  'gps',
  'cms',
  'aws',
  'os',
  'ios',
]);

/** Plurals no suffix rule gets right. */
const IRREGULAR: ReadonlyMap<string, string> = new Map([
  ['people', 'person'],
  ['children', 'child'],
  ['men', 'man'],
  ['women', 'woman'],
  ['mice', 'mouse'],
  ['geese', 'goose'],
  ['teeth', 'tooth'],
  ['feet', 'foot'],
  ['indices', 'index'],
  ['matrices', 'matrix'],
  ['vertices', 'vertex'],
  ['appendices', 'appendix'],
  ['analyses', 'analysis'],
  ['diagnoses', 'diagnosis'],
  ['theses', 'thesis'],
  ['crises', 'crisis'],
  ['axes', 'axis'],
  ['bases', 'base'],
  ['caches', 'cache'],
  ['niches', 'niche'],
  ['aliases', 'alias'],
  ['canvases', 'canvas'],
  ['biases', 'bias'],
  ['atlases', 'atlas'],
  ['gases', 'gas'],
  ['lenses', 'lens'],
  ['quizzes', 'quiz'],
  ['heroes', 'hero'],
  ['potatoes', 'potato'],
  ['tomatoes', 'tomato'],
  ['echoes', 'echo'],
  ['leaves', 'leaf'],
  ['halves', 'half'],
  ['shelves', 'shelf'],
  ['wolves', 'wolf'],
  ['knives', 'knife'],
  ['wives', 'wife'],
  ['lives', 'life'],
]);

/** `-ies` plurals of words that end in `ie` (`movies`, not `movy`). */
const IE_WORDS: ReadonlySet<string> = new Set([
  'movies',
  'cookies',
  'zombies',
  'calories',
  'rookies',
  'selfies',
  'pies',
  'ties',
  'lies',
  'hoodies',
  'smoothies',
  'goalies',
  'brownies',
]);

/** Singular words ending in `us` whose plural is `-uses` (`statuses`, not `statuse`). */
const US_PLURAL =
  /^(status|bonus|campus|virus|census|bus|focus|prospectus|apparatus|nexus|corpus|syllabus|stimulus|radius|cactus|octopus|consensus|genus|surplus)es$/;

/**
 * The singular of one lower-case word; a word that already is singular is returned unchanged
 * (the rule is idempotent).
 */
function singular(word: string): string {
  if (UNCHANGED.has(word)) return word;
  const irregular = IRREGULAR.get(word);
  if (irregular !== undefined) return irregular;
  if (IE_WORDS.has(word)) return word.slice(0, -1);
  if (US_PLURAL.test(word)) return word.slice(0, -2);
  if (/(ss|us|is)$/.test(word) || !word.endsWith('s') || word.length < 3) return word;
  if (/[^aeiou]ies$/.test(word)) return `${word.slice(0, -3)}y`;
  if (/(sses|xes|zzes|ches|shes)$/.test(word)) return word.slice(0, -2);
  return word.slice(0, -1);
}

/**
 * The words of a name in any case style (`OrderItem`, `orderItem`, `order-items`, `HTTPLogs`);
 * an acronym's plural `s` goes first (`APIs`, `URLs`), or it would split as `AP Is`.
 */
function wordsOf(name: string): string[] {
  return name
    .replace(/([A-Z]{2,})s(?![a-z])/g, '$1')
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter((word) => word !== '');
}

/**
 * The resource type (`target.type`) of an entity, model or controller name: singular, lower
 * snake case; only the last word is made singular. Returns `''` for a name without letters or
 * digits.
 *
 * @param name - a class, entity, model or path segment name, in any case style, singular or plural
 * @example
 * resourceTypeOf('Order');       // 'order'
 * resourceTypeOf('OrderItem');   // 'order_item'
 * resourceTypeOf('orders');      // 'order'
 * resourceTypeOf('order-items'); // 'order_item'
 * resourceTypeOf('categories');  // 'category'
 * resourceTypeOf('addresses');   // 'address'
 * resourceTypeOf('status');      // 'status'
 */
export function resourceTypeOf(name: string): string {
  const words = wordsOf(name);
  const last = words.pop();
  if (last === undefined) return '';
  return [...words.map((word) => word.toLowerCase()), singular(last.toLowerCase())].join('_');
}
