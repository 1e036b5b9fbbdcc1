/**
 * The initial prompt that biases Whisper towards the words of the code being written: a glossary the user
 * keeps plus the identifiers the active document uses most. Whisper keeps only the last 223 prompt tokens,
 * so the budget is kept well under that and the glossary goes last (the part kept if anything is cut).
 */

/** About 4 characters per BPE token for English-like identifiers: an estimate, not the tokenizer's count. */
const charsPerToken = 4;

/** Identifiers worth a prompt: camelCase, PascalCase or snake_case, or long plain words, without keywords. */
const identifierPattern = /[A-Za-z_][A-Za-z0-9_]*/g;
const commonWords = new Set(
  'const let var function return import export from class interface type extends implements new this true false null undefined void async await if else for while switch case break continue default throw try catch finally public private protected readonly static def self None True False elif lambda pass yield with not and the'.split(
    ' ',
  ),
);

function isDistinctive(word: string): boolean {
  if (commonWords.has(word) || word.length < 3) return false;
  const camel = /[a-z][A-Z]/.test(word);
  const snake = /[A-Za-z]_[A-Za-z]/.test(word);
  return camel || snake || word.length >= 6;
}

/** The `count` most frequent distinctive identifiers of a source text, most frequent first. */
export function topIdentifiers(source: string, count: number): string[] {
  if (count <= 0) return [];
  const frequency = new Map<string, number>();
  for (const [word] of source.matchAll(identifierPattern)) {
    if (isDistinctive(word)) frequency.set(word, (frequency.get(word) ?? 0) + 1);
  }
  return [...frequency.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, count)
    .map(([word]) => word);
}

/** Glossary terms and identifiers as one prompt within `maxTokens` (estimated); undefined when empty. */
export function buildInitialPrompt(
  glossary: readonly string[],
  identifiers: readonly string[],
  maxTokens = 200,
): string | undefined {
  const terms: string[] = [];
  let tokens = 0;
  const seen = new Set<string>();
  // Glossary first into the budget (it is what the user asked for), identifiers fill what is left.
  for (const term of [...glossary.map((term) => term.trim()), ...identifiers]) {
    const cost = Math.ceil((term.length + 2) / charsPerToken);
    if (term === '' || seen.has(term) || tokens + cost > maxTokens) continue;
    seen.add(term);
    terms.push(term);
    tokens += cost;
  }
  if (terms.length === 0) return undefined;
  const glossaryCount = terms.filter((term) => glossary.includes(term)).length;
  // Printed identifiers first and glossary last: when the engine cuts a long prompt it keeps the end.
  return [...terms.slice(glossaryCount), ...terms.slice(0, glossaryCount)].join(', ') + '.';
}

/**
 * Dictated text joined to what is before the cursor: a space after a word, none after whitespace or an
 * opening bracket, none before punctuation the text starts with.
 */
export function joinToContext(textBefore: string, text: string): string {
  if (text === '' || textBefore === '' || /[\s([{"'`]$/.test(textBefore) || /^[\s,.;:!?)\]}]/.test(text)) {
    return text;
  }
  return ` ${text}`;
}
