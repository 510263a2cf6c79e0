// Style sheets are imported for their effect: esbuild bundles them into the CSS file.
declare module '*.css';
