// htm bound to preact's h: html`<p>${text}</p>` with no build step.
import { h } from 'preact';
import htm from 'htm';

export const html = htm.bind(h);
