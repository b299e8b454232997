/**
 * Runs a script's main and exits with its outcome: 0, or 1 with the error (a usage error as its message alone).
 * LanceDB's native promises do not hold Node's event loop open, so a ref'd timer keeps the process alive until main
 * settles.
 */
export function runMain(main: () => Promise<void>): void {
  const keepAlive = setInterval(() => undefined, 60_000);
  main().then(
    () => {
      clearInterval(keepAlive);
      process.exit(0);
    },
    (err) => {
      clearInterval(keepAlive);
      console.error(err instanceof Error && err.message.startsWith('usage:') ? err.message : err);
      process.exit(1);
    },
  );
}
