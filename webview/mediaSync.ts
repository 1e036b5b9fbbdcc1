import { RESYNC_SEC, videoCorrection } from '../src/transcript/panelState';

/** How often the video's drift from the audio is measured while playing: four times a second, like `timeupdate`. */
const CHECK_INTERVAL_MS = 250;

/**
 * Plays a muted video in step with a separate audio element (the video's own audio is a codec the webview
 * lacks; the extension serves it as a WAV copy). The audio is the clock. Play, pause, seek and rate changes of
 * either element are passed to the other, so the video follows the audio's controls and the audio follows
 * anything that acts on the video (a click on it, picture-in-picture, media keys); while playing, drift is
 * corrected by `videoCorrection`. Returns the function that unlinks them.
 */
export function linkVideoToAudio(video: HTMLVideoElement, audio: HTMLAudioElement): () => void {
  video.muted = true;
  // What this code last set on the video, so that the video's events it causes are not passed back to the audio.
  let seekingToSec: number | undefined;
  let rateSet = audio.playbackRate;
  const seekVideo = (timeSec: number) => {
    seekingToSec = timeSec;
    video.currentTime = timeSec;
  };
  const setVideoRate = (rate: number) => {
    if (video.playbackRate === rate) return;
    rateSet = rate;
    video.playbackRate = rate;
  };
  const playQuietly = (media: HTMLMediaElement) =>
    media.play().catch(() => {
      // A pause right after a play rejects the play; a real failure shows as the element's `error` event.
    });
  const correct = () => {
    if (audio.paused || video.seeking || audio.seeking) return;
    const correction = videoCorrection(audio.currentTime, video.currentTime, audio.playbackRate);
    if ('seekToSec' in correction) seekVideo(correction.seekToSec);
    else setVideoRate(correction.rate);
  };
  let timer: ReturnType<typeof setInterval> | undefined;

  const listeners: [HTMLMediaElement, string, () => void][] = [
    [
      audio,
      'play',
      () => {
        timer ??= setInterval(correct, CHECK_INTERVAL_MS);
        if (video.paused) void playQuietly(video);
      },
    ],
    [
      audio,
      'pause',
      () => {
        clearInterval(timer);
        timer = undefined;
        if (!video.paused) video.pause();
        // Paused, the picture shows exactly the frame of the audio's time.
        seekVideo(audio.currentTime);
      },
    ],
    [
      audio,
      'seeking',
      () => {
        if (Math.abs(video.currentTime - audio.currentTime) > 0.001) seekVideo(audio.currentTime);
      },
    ],
    [audio, 'ratechange', () => setVideoRate(audio.playbackRate)],
    [
      video,
      'play',
      () => {
        if (audio.paused) void playQuietly(audio);
      },
    ],
    [
      video,
      'pause',
      () => {
        // A video shorter than its audio pauses at its end: the audio plays on.
        if (!audio.paused && !video.ended) audio.pause();
      },
    ],
    [
      video,
      'seeking',
      () => {
        const ours = seekingToSec !== undefined && Math.abs(video.currentTime - seekingToSec) < 0.001;
        seekingToSec = undefined;
        if (!ours && Math.abs(video.currentTime - audio.currentTime) > RESYNC_SEC) {
          audio.currentTime = video.currentTime;
        }
      },
    ],
    [
      video,
      'ratechange',
      () => {
        if (video.playbackRate !== rateSet) audio.playbackRate = video.playbackRate;
      },
    ],
    // The video keeps its own volume at zero: a user who unmutes it (its menu) means the audio.
    [
      video,
      'volumechange',
      () => {
        if (video.muted) return;
        video.muted = true;
        audio.muted = false;
      },
    ],
  ];
  for (const [media, type, listener] of listeners) media.addEventListener(type, listener);
  if (!audio.paused) timer = setInterval(correct, CHECK_INTERVAL_MS);
  return () => {
    clearInterval(timer);
    for (const [media, type, listener] of listeners) media.removeEventListener(type, listener);
  };
}
