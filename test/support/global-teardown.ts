export default async function globalTeardown(): Promise<void> {
  const pid = Number(process.env.RAGMEM_TEST_REDIS_PID);
  if (!pid) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}
