/**
 * Spoken punctuation and editing words ("comma", "new line", "open paren") turned into what they name.
 * One table per language; a language without one is left as Whisper wrote it.
 */

/** How the inserted text joins its neighbours: `left` sticks to the word before ("," ")"), `right` to the next ("(" ), `both` to neither side's space ("\n"). */
type Attach = 'left' | 'right' | 'both' | 'none';

export interface SpokenCommand {
  /** Lower-case phrases, any of which means this command. */
  readonly phrases: readonly string[];
  readonly insert: string;
  readonly attach: Attach;
}

export const spokenCommandTables: Readonly<Record<string, readonly SpokenCommand[]>> = {
  en: [
    { phrases: ['new paragraph'], insert: '\n\n', attach: 'both' },
    { phrases: ['new line', 'newline', 'next line'], insert: '\n', attach: 'both' },
    { phrases: ['comma'], insert: ',', attach: 'left' },
    { phrases: ['period', 'full stop'], insert: '.', attach: 'left' },
    { phrases: ['question mark'], insert: '?', attach: 'left' },
    { phrases: ['exclamation mark', 'exclamation point'], insert: '!', attach: 'left' },
    { phrases: ['semicolon', 'semi colon'], insert: ';', attach: 'left' },
    { phrases: ['colon'], insert: ':', attach: 'left' },
    { phrases: ['open paren', 'open parenthesis', 'left paren'], insert: '(', attach: 'right' },
    { phrases: ['close paren', 'close parenthesis', 'right paren'], insert: ')', attach: 'left' },
    { phrases: ['open bracket', 'left bracket'], insert: '[', attach: 'right' },
    { phrases: ['close bracket', 'right bracket'], insert: ']', attach: 'left' },
    { phrases: ['open brace', 'open curly', 'left brace'], insert: '{', attach: 'right' },
    { phrases: ['close brace', 'close curly', 'right brace'], insert: '}', attach: 'left' },
    { phrases: ['open quote'], insert: '"', attach: 'right' },
    { phrases: ['close quote'], insert: '"', attach: 'left' },
    { phrases: ['dash'], insert: '-', attach: 'none' },
    { phrases: ['underscore'], insert: '_', attach: 'both' },
  ],
};

/** Punctuation Whisper puts around a spoken command word ("Hello, comma, world") belongs to the word, not the text. */
const whisperPunctuation = '[,.!?;:]*';

interface CompiledCommand {
  readonly pattern: RegExp;
  readonly command: SpokenCommand;
}

const compiled = new Map<string, readonly CompiledCommand[]>();

function commandsFor(language: string): readonly CompiledCommand[] {
  let commands = compiled.get(language);
  if (!commands) {
    // Longer phrases first, so "new paragraph" wins over a shorter phrase inside it.
    const entries = (spokenCommandTables[language] ?? [])
      .flatMap((command) => command.phrases.map((phrase) => ({ phrase, command })))
      .sort((a, b) => b.phrase.length - a.phrase.length);
    commands = entries.map(({ phrase, command }) => ({
      pattern: new RegExp(
        `${whisperPunctuation}(^|\\s+)${phrase.split(' ').join('\\s+')}${whisperPunctuation}(?=\\s|$)`,
        'giu',
      ),
      command,
    }));
    compiled.set(language, commands);
  }
  return commands;
}

/** Marks the attach rules survive replacement with; they are not characters a transcript contains. */
const glueLeft = '\u0001';
const glueRight = '\u0002';

/**
 * Replaces spoken commands in `text` for `language` (a code such as `en`; others without a table are returned
 * unchanged). "Hello comma world period new line" → "Hello, world.\n".
 */
export function applySpokenCommands(text: string, language: string): string {
  const commands = commandsFor(language);
  if (commands.length === 0) return text;
  let result = text;
  for (const { pattern, command } of commands) {
    const left = command.attach === 'left' || command.attach === 'both' ? glueLeft : ' ';
    const right = command.attach === 'right' || command.attach === 'both' ? glueRight : ' ';
    result = result.replace(pattern, `${left}${command.insert}${right}`);
  }
  return result
    .replace(new RegExp(`[ \\t]*${glueLeft}`, 'g'), '')
    .replace(new RegExp(`${glueRight}[ \\t]*`, 'g'), '')
    .replace(/ {2,}/g, ' ')
    .replace(/^ +| +$/g, '');
}
