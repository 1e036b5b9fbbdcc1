import { FORMAT_IDS, type FormatId } from '../src/transcript/formats';
import type { FromPanel, PanelMedia, ToPanel } from '../src/transcript/panelMessages';
import {
  alignByTime,
  announcementFor,
  cycle,
  doubtReasonLabels,
  doubtfulSegments,
  findMatches,
  formatClock,
  mergeSegments,
  nextInOrder,
  parseViewState,
  positionAt,
  replaceSegmentText,
  wordRanges,
  type DoubtReason,
  type PanelViewState,
  type PlaybackPosition,
  type PositionCause,
  type SearchMatch,
} from '../src/transcript/panelState';
import type { Segment, Transcript } from '../src/transcript/result';
import { element, isInsideControl } from './dom';
import { linkVideoToAudio } from './mediaSync';

const SEEK_STEP_SEC = 5;

/** Where the page keeps its place between renders (VS Code's `getState`/`setState`). */
export interface ViewStateStore {
  load(): unknown;
  save(state: PanelViewState): void;
}

/**
 * The panel: media player, toolbar and the transcript as a listbox of segments. Keyboard model: the list is
 * one tab stop (roving tabindex) and its rows are options; playback keys work anywhere outside a control.
 */
export class TranscriptPanel {
  private transcript: Transcript | undefined;
  /** The other version of the media (translation or transcript), shown beside each segment; see alignByTime. */
  private companion: Transcript | undefined;
  private companionRows: number[][] | undefined;
  private readOnly = true;
  /** The clock of playback: the one media element, or the audio that a muted video follows. */
  private media: HTMLMediaElement | undefined;
  /** A muted video that follows `media` (its own audio is a codec the webview lacks). */
  private video: HTMLVideoElement | undefined;
  private unlinkVideo: (() => void) | undefined;
  /** The place to go back to once the page's first transcript and media are there; until then nothing is saved. */
  private restoring: PanelViewState | undefined;
  private saveTimer: ReturnType<typeof setTimeout> | undefined;
  private lastAnnouncementMs = -Infinity;
  /** Stands in for the media's clock when there is no playable media, so navigation still highlights. */
  private timeWithoutMediaSec = 0;
  private doubts = new Map<number, DoubtReason[]>();
  private flagged: number[] = [];
  private matches: SearchMatch[] = [];
  private matchCursor: number | undefined;
  private playing: PlaybackPosition | undefined;
  private focusedIndex = 0;
  private selectionAnchor: number | undefined;
  private readonly selectedIds = new Set<number>();
  private editing: { readonly segmentId: number; readonly field: HTMLElement } | undefined;
  private animationFrame: number | undefined;

  private readonly playerSlot = element('div', { class: 'player' });
  private readonly searchField = element('vscode-text-field', {
    placeholder: 'Search',
    'aria-label': 'Search the transcript (Enter: next match, Shift+Enter: previous)',
  });
  // A status, so that "2 of 5" is heard while focus stays in the search field.
  private readonly matchStatus = element('span', { class: 'count', role: 'status' });
  private readonly flagStatus = element('span', { class: 'count' });
  private readonly followBox = element('vscode-checkbox', { checked: '' }, ['Follow playback']);
  private readonly progress = element('div', { class: 'progress', hidden: '' });
  private readonly progressBar = element('progress', { max: '1', 'aria-label': 'Transcription progress' });
  private readonly progressLabel = element('span');
  private readonly list = element('ol', {
    class: 'segments',
    role: 'listbox',
    'aria-label': 'Transcript segments',
    'aria-multiselectable': 'true',
    'aria-describedby': 'segments-keys',
    tabindex: '0',
  });
  private readonly keysHelp = element('p', { id: 'segments-keys', class: 'visually-hidden' }, [
    'Up and Down arrows: previous and next segment. Space or K: play or pause. J and L, or Left and Right ' +
      'arrows: back and forward 5 seconds. Enter or F2: edit the text. Shift with arrows: select, ' +
      'Control+Space: select or unselect a segment, Control+C: copy. Slash: search.',
  ]);
  /** Names the two columns when a companion is shown. */
  private readonly columns = element('div', { class: 'columns', hidden: '', 'aria-hidden': 'true' });
  private readonly announcer = element('div', {
    class: 'visually-hidden',
    'aria-live': 'polite',
    'aria-atomic': 'true',
  });
  private readonly status = element('p', { class: 'status', role: 'status' });

  constructor(
    root: HTMLElement,
    private readonly post: (message: FromPanel) => void,
    private readonly viewState: ViewStateStore,
  ) {
    this.restoring = parseViewState(viewState.load());
    const button = (label: string, title: string, action: () => void, appearance = 'secondary') => {
      const created = element('vscode-button', { appearance, title, 'aria-label': title }, [label]);
      created.addEventListener('click', action);
      return created;
    };
    this.progress.append(this.progressBar, this.progressLabel);
    root.append(
      element('header', { class: 'top' }, [
        this.playerSlot,
        element('div', { class: 'toolbar', role: 'group', 'aria-label': 'Transcript tools' }, [
          element('div', { class: 'tool-group', role: 'search' }, [
            this.searchField,
            button('‹', 'Previous match', () => this.stepMatch(-1)),
            button('›', 'Next match', () => this.stepMatch(1)),
            this.matchStatus,
          ]),
          element('div', { class: 'tool-group' }, [
            button('⚠‹', 'Previous doubtful segment', () => this.stepFlag(-1)),
            button('⚠›', 'Next doubtful segment', () => this.stepFlag(1)),
            this.flagStatus,
          ]),
          element('div', { class: 'tool-group' }, [
            this.followBox,
            button('Copy', 'Copy the selected segments with their times', () => this.copySelection()),
            ...FORMAT_IDS.map((format: FormatId) =>
              button(format.toUpperCase(), `Export as ${format.toUpperCase()}`, () =>
                this.post({ type: 'exportAs', format }),
              ),
            ),
          ]),
        ]),
        this.progress,
        this.status,
        this.columns,
      ]),
      this.list,
      this.keysHelp,
      this.announcer,
    );
    window.addEventListener('scroll', () => this.saveViewSoon(), { passive: true });
    // The player and tools stay on top of the rows (sticky): a row focused or scrolled to must land below them,
    // not hidden under them (WCAG 2.4.11, focus not obscured).
    const header = root.querySelector('header')!;
    new ResizeObserver(() => {
      document.documentElement.style.scrollPaddingTop = `${header.offsetHeight}px`;
    }).observe(header);
    this.searchField.addEventListener('input', () => this.search());
    this.searchField.addEventListener('keydown', (event) => this.onSearchKey(event));
    this.list.addEventListener('click', (event) => this.onListClick(event));
    this.list.addEventListener('dblclick', (event) => {
      const index = this.rowIndexOf(event.target);
      if (index !== undefined) this.startEdit(index);
    });
    this.list.addEventListener('focus', () => this.row(this.focusedIndex)?.focus());
    // Focus can reach a row without the panel's keys (Tab back into the list, a screen reader's cursor): the
    // roving tab stop and the row that Enter edits must follow it.
    this.list.addEventListener('focusin', (event) => {
      const index = this.rowIndexOf(event.target);
      if (index !== undefined && index !== this.focusedIndex) this.moveFocus(index);
    });
    this.list.addEventListener('copy', (event) => {
      event.preventDefault();
      this.copySelection();
    });
    document.addEventListener('keydown', (event) => this.onKey(event));
  }

  receive(message: ToPanel): void {
    switch (message.type) {
      case 'init':
        this.readOnly = message.readOnly;
        this.list.setAttribute('aria-readonly', String(message.readOnly));
        this.companion = message.companion;
        this.showMedia(message.media, message.mediaNote);
        this.show(message.transcript);
        void this.restoreView();
        break;
      case 'update':
        this.show(message.transcript);
        break;
      case 'companion':
        this.companion = message.transcript;
        if (this.transcript) this.show(this.transcript);
        break;
      case 'appendSegments':
        if (this.transcript === undefined) return;
        this.show({
          ...this.transcript,
          segments: mergeSegments(this.transcript.segments, message.segments),
        });
        if (this.following()) this.row(this.segments.length - 1)?.scrollIntoView({ block: 'center' });
        break;
      case 'progress':
        this.progress.hidden = message.fraction >= 1;
        this.progressBar.value = message.fraction;
        this.progressLabel.textContent = message.label ?? `${Math.round(message.fraction * 100)} %`;
        break;
      case 'error':
        this.status.textContent = message.message;
        break;
    }
  }

  private get segments(): readonly Segment[] {
    return this.transcript?.segments ?? [];
  }

  private showMedia(media: PanelMedia | undefined, note: string | undefined): void {
    this.unlinkVideo?.();
    this.media?.pause();
    this.video?.pause();
    this.playerSlot.replaceChildren();
    this.media = this.video = this.unlinkVideo = undefined;
    this.status.textContent = note ?? '';
    if (media === undefined) return;
    const separateAudio = media.kind === 'video' ? media.audioUri : undefined;
    const player = element(separateAudio ? 'audio' : media.kind, {
      controls: '',
      preload: 'auto',
      'aria-label': separateAudio ? `${media.fileName}: audio` : media.fileName,
    });
    player.src = separateAudio ?? media.uri;
    player.addEventListener('play', () => this.followPlayback());
    player.addEventListener('seeked', () => this.syncToTime(false));
    player.addEventListener('timeupdate', () => this.syncToTime(!player.paused));
    for (const type of ['timeupdate', 'seeked', 'pause'])
      player.addEventListener(type, () => this.saveViewSoon());
    player.addEventListener('error', () => {
      const reason = player.error?.message || `media error ${player.error?.code ?? ''}`;
      this.status.textContent = `${media.fileName} cannot be played here: ${reason}`;
      this.post({ type: 'mediaError', message: reason });
    });
    if (separateAudio) this.showVideo(media, player);
    this.playerSlot.append(player);
    this.media = player;
  }

  /**
   * The picture of a video whose audio plays from `audio`: muted, without controls of its own (the audio's
   * control bar under it drives both), a click plays or pauses. A picture the webview cannot decode either goes,
   * and the panel says that only the audio plays.
   */
  private showVideo(media: PanelMedia, audio: HTMLAudioElement): void {
    const video = element('video', {
      preload: 'auto',
      muted: '',
      'aria-label': media.fileName,
      title: 'Click to play or pause',
    });
    video.muted = true;
    video.src = media.uri;
    video.addEventListener('click', () => this.togglePlay());
    const fallBack = (reason: string) => {
      if (this.video !== video) return;
      this.unlinkVideo?.();
      this.unlinkVideo = this.video = undefined;
      video.removeAttribute('src');
      video.remove();
      this.status.textContent = `Audio only: the video of ${media.fileName} cannot be shown here (${reason}).`;
      this.post({ type: 'mediaError', message: `video: ${reason}` });
    };
    video.addEventListener('error', () =>
      fallBack(video.error?.message || `media error ${video.error?.code ?? ''}`),
    );
    // A video track the webview cannot decode may load as sound only, with no picture and no error.
    video.addEventListener('loadedmetadata', () => {
      if (video.videoWidth === 0) fallBack('no picture it can decode');
    });
    this.playerSlot.append(video);
    this.video = video;
    this.unlinkVideo = linkVideoToAudio(video, audio);
  }

  /**
   * Goes back to the saved time, focused row and scroll position once the media can seek (the player's and the
   * video's sizes move the rows, so the scroll comes last). Playback stays paused: a hidden tab lost its page.
   */
  private async restoreView(): Promise<void> {
    const saved = this.restoring;
    if (saved === undefined) return;
    if (this.segments.length > 0) this.moveFocus(Math.min(saved.focusedIndex, this.segments.length - 1));
    const media = this.media;
    if (media) {
      await Promise.all([media, this.video].map((element) => element && loaded(element)));
    }
    if (media && !media.error) {
      const seeked = new Promise((resolve) => media.addEventListener('seeked', resolve, { once: true }));
      media.currentTime = saved.timeSec;
      await seeked;
    } else if (!media) {
      this.timeWithoutMediaSec = saved.timeSec;
      this.syncToTime(false);
    }
    window.scrollTo(0, saved.scrollTopPx);
    this.restoring = undefined;
  }

  /** Keeps the place in the webview's state, a tenth of a second after the last change. */
  private saveViewSoon(): void {
    if (this.restoring !== undefined || this.saveTimer !== undefined) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      this.viewState.save({
        timeSec: this.currentTimeSec(),
        scrollTopPx: window.scrollY,
        focusedIndex: this.focusedIndex,
      });
    }, 100);
  }

  private show(transcript: Transcript): void {
    const hadFocus = this.list.contains(document.activeElement);
    // Rebuilding the rows drops an edit in progress, as an external change to the document must win.
    this.editing = undefined;
    this.transcript = transcript;
    this.doubts = doubtfulSegments(transcript.segments);
    this.flagged = [...this.doubts.keys()];
    this.flagStatus.textContent = `${this.flagged.length} doubtful`;
    this.companionRows = this.companion && alignByTime(transcript.segments, this.companion.segments);
    this.columns.hidden = this.companion === undefined;
    if (this.companion) {
      this.columns.replaceChildren(
        element('span', {}, [versionLabel(transcript)]),
        element('span', {}, [versionLabel(this.companion)]),
      );
    }
    this.matches = findMatches(transcript.segments, this.query());
    this.matchCursor = undefined;
    this.updateMatchStatus();
    this.focusedIndex = Math.min(this.focusedIndex, Math.max(0, transcript.segments.length - 1));
    this.list.replaceChildren(...transcript.segments.map((segment, index) => this.renderRow(segment, index)));
    this.list.tabIndex = transcript.segments.length === 0 ? 0 : -1;
    this.playing = undefined;
    this.syncToTime(false);
    if (hadFocus) this.row(this.focusedIndex)?.focus();
  }

  private renderRow(segment: Segment, index: number): HTMLElement {
    const reasons = this.doubts.get(index);
    const row = element(
      'li',
      {
        class: reasons ? 'segment doubtful' : 'segment',
        role: 'option',
        id: `segment-${segment.id}`,
        'data-index': String(index),
        tabindex: index === this.focusedIndex ? '0' : '-1',
        'aria-selected': String(this.selectedIds.has(segment.id)),
      },
      [element('span', { class: 'time' }, [formatClock(segment.startSec)])],
    );
    // Every row has the flag column, so that texts line up whether flagged or not.
    const flag = row.appendChild(element('span', { class: 'flag' }));
    if (reasons) {
      const why = reasons.map((reason) => doubtReasonLabels[reason]).join(', ');
      flag.title = `Doubtful: ${why}`;
      flag.append(
        element('span', { 'aria-hidden': 'true' }, ['⚠']),
        element('span', { class: 'visually-hidden' }, [`Doubtful (${why}). `]),
      );
    }
    row.append(this.renderText(segment, index));
    const companionIndexes = this.companionRows?.[index];
    if (this.companion && companionIndexes) {
      const texts = companionIndexes.map((i) => this.companion!.segments[i]!.text.trim());
      row.append(
        element('span', { class: 'companion', lang: languageTag(this.companion) }, [
          element('span', { class: 'visually-hidden' }, [`${versionLabel(this.companion)}: `]),
          texts.join(' '),
        ]),
      );
    }
    return row;
  }

  /** The segment's text, split into word spans when word timings line up with it, with search matches marked. */
  private renderText(segment: Segment, index: number): HTMLElement {
    const text = element('span', { class: 'text' });
    const marks = this.matches
      .map((match, matchIndex) => ({ match, matchIndex }))
      .filter(({ match }) => match.segmentIndex === index);
    const words = wordRanges(segment);
    (words ?? [{ startChar: 0, endChar: segment.text.length }]).forEach((piece, wordIndex) => {
      const container = words
        ? text.appendChild(element('span', { class: 'word', 'data-word': String(wordIndex) }))
        : text;
      let at = piece.startChar;
      for (const { match, matchIndex } of marks) {
        const from = Math.max(match.startChar, at);
        const to = Math.min(match.endChar, piece.endChar);
        if (from >= to) continue;
        container.append(
          segment.text.slice(at, from),
          element('mark', { 'data-match': String(matchIndex) }, [segment.text.slice(from, to)]),
        );
        at = to;
      }
      container.append(segment.text.slice(at, piece.endChar));
    });
    return text;
  }

  private row(index: number): HTMLElement | undefined {
    return (this.list.children[index] as HTMLElement | undefined) ?? undefined;
  }

  private rowIndexOf(target: EventTarget | null): number | undefined {
    const row = target instanceof Element ? target.closest<HTMLElement>('li.segment') : null;
    return row?.dataset.index === undefined ? undefined : Number(row.dataset.index);
  }

  private onListClick(event: MouseEvent): void {
    const index = this.rowIndexOf(event.target);
    const segment = index === undefined ? undefined : this.segments[index];
    if (index === undefined || segment === undefined || this.editing?.segmentId === segment.id) return;
    if (event.ctrlKey || event.metaKey) {
      this.toggleSelected(index);
      this.moveFocus(index);
      return;
    }
    if (event.shiftKey) {
      this.selectRange(index);
      this.moveFocus(index);
      return;
    }
    const word = event.target instanceof Element ? event.target.closest<HTMLElement>('.word') : null;
    const wordStartSec = word ? segment.words?.[Number(word.dataset.word)]?.startSec : undefined;
    this.selectOnly(index);
    this.moveFocus(index);
    this.seek(wordStartSec ?? segment.startSec, true);
  }

  private onKey(event: KeyboardEvent): void {
    if (isInsideControl(event.target)) return;
    const inList = this.list.contains(event.target as Node);
    // The listbox's own key for a multiple selection: the keyboard's Ctrl+click.
    if (event.ctrlKey && event.key === ' ' && inList) {
      this.toggleSelected(this.focusedIndex);
      event.preventDefault();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const handled = (() => {
      switch (event.key) {
        case ' ':
        case 'k':
          return this.togglePlay();
        case 'j':
        case 'ArrowLeft':
          return this.seek(this.currentTimeSec() - SEEK_STEP_SEC, false, 'seek');
        case 'l':
        case 'ArrowRight':
          return this.seek(this.currentTimeSec() + SEEK_STEP_SEC, false, 'seek');
        case 'n':
        case 'ArrowDown':
          return this.goToSegment(this.focusedIndex + 1, event.shiftKey);
        case 'p':
        case 'ArrowUp':
          return this.goToSegment(this.focusedIndex - 1, event.shiftKey);
        case 'Home':
          return this.goToSegment(0, event.shiftKey);
        case 'End':
          return this.goToSegment(this.segments.length - 1, event.shiftKey);
        case 'Enter':
        case 'F2':
          return inList && this.startEdit(this.focusedIndex);
        case '/':
          this.searchField.focus();
          return true;
        default:
          return false;
      }
    })();
    if (handled) event.preventDefault();
  }

  private onSearchKey(event: KeyboardEvent): void {
    if (event.key === 'Enter') {
      this.stepMatch(event.shiftKey ? -1 : 1);
      event.preventDefault();
    } else if (event.key === 'Escape') {
      this.row(this.focusedIndex)?.focus();
      event.preventDefault();
    }
  }

  private currentTimeSec(): number {
    return this.media?.currentTime ?? this.timeWithoutMediaSec;
  }

  private togglePlay(): boolean {
    if (this.media === undefined) return false;
    if (this.media.paused) {
      this.play();
      this.announce('Playing');
    } else {
      this.media.pause();
      this.announce(`Paused at ${formatClock(this.media.currentTime)}`);
    }
    return true;
  }

  private announce(text: string): void {
    this.announcer.textContent = text;
    this.lastAnnouncementMs = performance.now();
  }

  private play(): void {
    this.media?.play().catch((error: unknown) => {
      // A pause right after a play rejects the play with AbortError: that is the user's choice, not a failure.
      if (error instanceof DOMException && error.name === 'AbortError') return;
      this.status.textContent = `Playback failed: ${error instanceof Error ? error.message : String(error)}`;
    });
  }

  /** `cause` 'seek': focus stays where it is, so the live region says where playback went. */
  private seek(timeSec: number, andPlay: boolean, cause: PositionCause = 'focus'): boolean {
    const clampedSec = Math.max(
      0,
      Math.min(timeSec, this.media?.duration || this.transcript?.durationSec || 0),
    );
    if (this.media) this.media.currentTime = clampedSec;
    else this.timeWithoutMediaSec = clampedSec;
    this.syncToTime(false);
    const announcement = announcementFor(this.segments, clampedSec, cause, Infinity);
    if (announcement !== undefined) this.announce(announcement);
    if (andPlay) this.play();
    return true;
  }

  /** Moves focus and playback to a segment; with Shift, extends the selection to it. */
  private goToSegment(index: number, extendSelection: boolean): boolean {
    const segment = this.segments[index];
    if (segment === undefined) return true;
    if (extendSelection) this.selectRange(index);
    this.moveFocus(index);
    this.row(index)?.focus();
    this.seek(segment.startSec, false);
    return true;
  }

  private moveFocus(index: number): void {
    this.row(this.focusedIndex)?.setAttribute('tabindex', '-1');
    this.focusedIndex = index;
    this.row(index)?.setAttribute('tabindex', '0');
    this.saveViewSoon();
  }

  private selectOnly(index: number): void {
    this.selectedIds.clear();
    this.selectionAnchor = index;
    this.toggleSelected(index);
  }

  private toggleSelected(index: number): void {
    const id = this.segments[index]?.id;
    if (id === undefined) return;
    if (this.selectedIds.has(id)) this.selectedIds.delete(id);
    else this.selectedIds.add(id);
    this.selectionAnchor = index;
    this.refreshSelection();
  }

  private selectRange(index: number): void {
    const anchor = this.selectionAnchor ?? this.focusedIndex;
    this.selectedIds.clear();
    for (let i = Math.min(anchor, index); i <= Math.max(anchor, index); i++) {
      const id = this.segments[i]?.id;
      if (id !== undefined) this.selectedIds.add(id);
    }
    this.selectionAnchor = anchor;
    this.refreshSelection();
  }

  private refreshSelection(): void {
    this.segments.forEach((segment, index) =>
      this.row(index)?.setAttribute('aria-selected', String(this.selectedIds.has(segment.id))),
    );
  }

  private copySelection(): void {
    const ids =
      this.selectedIds.size > 0
        ? [...this.selectedIds]
        : this.segments.slice(this.focusedIndex, this.focusedIndex + 1).map((segment) => segment.id);
    if (ids.length > 0) this.post({ type: 'copySegments', segmentIds: ids });
  }

  private following(): boolean {
    return (this.followBox as HTMLElement & { checked: boolean }).checked;
  }

  /** Word highlighting needs more than `timeupdate`'s four updates a second: follow every frame while playing. */
  private followPlayback(): void {
    if (this.animationFrame !== undefined) return;
    const frame = () => {
      this.syncToTime(true);
      this.animationFrame = this.media && !this.media.paused ? requestAnimationFrame(frame) : undefined;
    };
    this.animationFrame = requestAnimationFrame(frame);
  }

  /**
   * Marks the segment and word playing now (`aria-current`) and keeps it in view; `playingOn`: playback reached
   * it by itself, which the live region may announce (see announcementFor).
   */
  private syncToTime(playingOn: boolean): void {
    const position = positionAt(this.segments, this.currentTimeSec(), 'previous');
    const before = this.playing;
    if (before?.segmentIndex === position?.segmentIndex && before?.wordIndex === position?.wordIndex) return;
    this.playing = position;
    const word = (at: PlaybackPosition) =>
      this.row(at.segmentIndex)?.querySelector(`.word[data-word="${at.wordIndex ?? -1}"]`);
    if (before) {
      word(before)?.removeAttribute('aria-current');
      if (before.segmentIndex !== position?.segmentIndex)
        this.row(before.segmentIndex)?.removeAttribute('aria-current');
    }
    if (position === undefined) return;
    const row = this.row(position.segmentIndex);
    word(position)?.setAttribute('aria-current', 'true');
    if (before?.segmentIndex === position.segmentIndex) return;
    row?.setAttribute('aria-current', 'true');
    if (this.editing) return;
    if (this.following()) {
      if (!this.list.contains(document.activeElement)) this.moveFocus(position.segmentIndex);
      row?.scrollIntoView({ block: 'center' });
    }
    if (playingOn) {
      const sinceLastSec = (performance.now() - this.lastAnnouncementMs) / 1000;
      const announcement = announcementFor(this.segments, this.currentTimeSec(), 'playback', sinceLastSec);
      if (announcement !== undefined) this.announce(announcement);
    }
  }

  private query(): string {
    return (this.searchField as HTMLElement & { value: string }).value ?? '';
  }

  private search(): void {
    if (this.transcript) this.show(this.transcript);
  }

  private stepMatch(direction: 1 | -1): void {
    this.matchCursor = cycle(this.matches.length, this.matchCursor, direction);
    this.list.querySelectorAll('mark.current').forEach((mark) => mark.classList.remove('current'));
    const match = this.matchCursor === undefined ? undefined : this.matches[this.matchCursor];
    if (match) {
      const marks = this.list.querySelectorAll(`mark[data-match="${this.matchCursor}"]`);
      marks.forEach((mark) => mark.classList.add('current'));
      marks[0]?.scrollIntoView({ block: 'center' });
      this.moveFocus(match.segmentIndex);
    }
    this.updateMatchStatus();
  }

  private updateMatchStatus(): void {
    const count = this.matches.length;
    this.matchStatus.textContent =
      this.query() === ''
        ? ''
        : count === 0
          ? 'No matches'
          : this.matchCursor === undefined
            ? `${count} matches`
            : `${this.matchCursor + 1} of ${count}`;
  }

  private stepFlag(direction: 1 | -1): void {
    const index = nextInOrder(this.flagged, this.focusedIndex, direction);
    if (index === undefined) return;
    this.goToSegment(index, false);
    const why = (this.doubts.get(index) ?? []).map((reason) => doubtReasonLabels[reason]).join(', ');
    this.flagStatus.textContent = `${this.flagged.indexOf(index) + 1} of ${this.flagged.length} doubtful: ${why}`;
  }

  private startEdit(index: number): boolean {
    const segment = this.segments[index];
    const field = this.row(index)?.querySelector<HTMLElement>('.text');
    if (this.readOnly || segment === undefined || !field) return false;
    this.editing = { segmentId: segment.id, field };
    field.textContent = segment.text.trim();
    field.contentEditable = 'plaintext-only';
    field.setAttribute('role', 'textbox');
    field.setAttribute('aria-label', `Text of the segment at ${formatClock(segment.startSec)}`);
    field.focus();
    getSelection()?.selectAllChildren(field);
    field.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey) this.finishEdit(true);
      else if (event.key === 'Escape') this.finishEdit(false);
      else return;
      event.preventDefault();
    });
    field.addEventListener('blur', () => this.finishEdit(true), { once: true });
    return true;
  }

  private finishEdit(keep: boolean): void {
    const editing = this.editing;
    if (!editing || !this.transcript) return;
    this.editing = undefined;
    const typed = editing.field.textContent ?? '';
    const edited = keep ? replaceSegmentText(this.transcript, editing.segmentId, typed) : this.transcript;
    if (edited !== this.transcript) this.post({ type: 'edit', segmentId: editing.segmentId, text: typed });
    // Shown at once; the extension's `update` with the saved document follows and replaces it.
    this.show(edited);
    this.row(this.focusedIndex)?.focus();
  }
}

/** Resolves once the element knows its duration and size, or has failed to load. */
function loaded(media: HTMLMediaElement): Promise<void> {
  if (media.readyState >= HTMLMediaElement.HAVE_METADATA || media.error) return Promise.resolve();
  return new Promise((resolve) => {
    media.addEventListener('loadedmetadata', () => resolve(), { once: true });
    media.addEventListener('error', () => resolve(), { once: true });
  });
}

/** A column's name: what the version is, and in which language. */
function versionLabel(transcript: Transcript): string {
  return transcript.task === 'translate'
    ? 'English translation'
    : `Transcript${transcript.language === 'unknown' ? '' : ` (${transcript.language})`}`;
}

/** The `lang` of a version's text, so that screen readers pronounce it in its language; '' for unknown. */
function languageTag(transcript: Transcript): string {
  if (transcript.task === 'translate') return 'en';
  return transcript.language === 'unknown' ? '' : transcript.language;
}
