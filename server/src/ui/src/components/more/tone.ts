/** The colours a badge can take (the palette's semantic colours in styles.css). */
export type Tone = 'ok' | 'bad' | 'warn' | 'info' | 'neutral';
