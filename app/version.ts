/** The tool's version, recorded in transcripts and shown by --version. Keep equal to package.json. */
export const VERSION = '0.1.0';
