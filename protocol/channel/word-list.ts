/**
 * The join-code word list (docs/protocol-channel.md §4.2): 256 short English nouns, so each word
 * carries exactly 8 bits and a three-word code carries 24.
 *
 * Written for this project. Rules the list keeps (test/unit/channel-join-code.test.ts checks the
 * mechanical ones):
 * - 256 distinct words of 4 to 6 lowercase ASCII letters, sorted, so index = position;
 * - the first three letters identify a word uniquely, hence no word is a prefix of another and a
 *   user interface may complete a word after three letters;
 * - no homophones of common words (no "bread"/"bred", "quartz"/"quarts", "cedar"/"seeder"), no
 *   words with competing spellings ("harbor"/"harbour", "yogurt"/"yoghurt"), no near-twins within
 *   the list ("amber"/"ember", "needle"/"noodle", "pepper"/"paper"), nothing rude or grim.
 *
 * Changing the list changes every code's meaning; it is part of channel protocol version 1.
 */

/** The 256 words, index i encodes byte value i. */
export const WORD_LIST: readonly string[] = Object.freeze([
  'acorn', 'actor', 'album', 'amber', 'anchor', 'ankle', 'apple', 'apron', 'arrow', 'atlas', 'attic', 'badge',
  'bagel', 'baker', 'bamboo', 'banjo', 'barrel', 'basil', 'beacon', 'bench', 'bingo', 'birch', 'bison', 'blade',
  'bloom', 'bonus', 'boxer', 'brick', 'broom', 'bucket', 'bugle', 'butter', 'cabin', 'cactus', 'camel', 'canoe',
  'cargo', 'castle', 'chalk', 'cherry', 'circus', 'citrus', 'cloud', 'cobra', 'comet', 'copper', 'cotton', 'couch',
  'crane', 'crown', 'curve', 'cycle', 'daisy', 'dancer', 'delta', 'denim', 'diesel', 'disco', 'doctor', 'donkey',
  'dragon', 'drum', 'duck', 'dune', 'eagle', 'echo', 'elbow', 'empire', 'engine', 'fabric', 'falcon', 'farmer',
  'fender', 'ferret', 'field', 'finch', 'flag', 'flint', 'flute', 'forest', 'fossil', 'frost', 'fudge', 'garden',
  'gecko', 'giant', 'ginger', 'glass', 'globe', 'goat', 'grape', 'guitar', 'hammer', 'hazel', 'helmet', 'hero',
  'hippo', 'hockey', 'honey', 'hotel', 'husky', 'igloo', 'index', 'insect', 'iris', 'island', 'jacket', 'jelly',
  'jester', 'jigsaw', 'joker', 'judge', 'jumbo', 'jungle', 'kayak', 'kettle', 'kitten', 'kiwi', 'ladder', 'lagoon',
  'lamp', 'laser', 'lava', 'lemon', 'letter', 'lilac', 'linen', 'lion', 'lizard', 'lotus', 'lumber', 'magnet',
  'maple', 'marble', 'mascot', 'meadow', 'melon', 'mirror', 'model', 'monkey', 'motor', 'muffin', 'napkin', 'nephew',
  'nickel', 'noodle', 'novel', 'ocean', 'olive', 'onion', 'orange', 'orbit', 'orchid', 'otter', 'oven', 'oyster',
  'palace', 'panda', 'paper', 'parrot', 'pasta', 'peanut', 'pebble', 'pencil', 'pickle', 'pigeon', 'pilot', 'pixel',
  'pizza', 'planet', 'pocket', 'poet', 'pony', 'poppy', 'puffin', 'puppet', 'puzzle', 'python', 'queen', 'quilt',
  'rabbit', 'raft', 'ranch', 'raven', 'razor', 'ribbon', 'riddle', 'river', 'robot', 'rocket', 'ruby', 'rugby',
  'ruler', 'saddle', 'salsa', 'saturn', 'scarf', 'school', 'scout', 'shadow', 'shovel', 'signal', 'silver', 'sister',
  'skate', 'sketch', 'smoke', 'snake', 'sofa', 'spider', 'sponge', 'squid', 'stamp', 'stone', 'sugar', 'summit',
  'sushi', 'swan', 'table', 'taco', 'tango', 'target', 'teapot', 'tempo', 'tennis', 'ticket', 'tiger', 'toast',
  'torch', 'tower', 'tulip', 'tunnel', 'turtle', 'uncle', 'valley', 'velvet', 'viper', 'visa', 'voyage', 'waffle',
  'wagon', 'walnut', 'water', 'wheat', 'widget', 'willow', 'winter', 'wizard', 'wolf', 'wombat', 'yellow', 'yeti',
  'zebra', 'zero', 'zigzag', 'zipper',
]);

/** Number of words: 2^8, one byte per word. */
export const WORD_COUNT = 256;
