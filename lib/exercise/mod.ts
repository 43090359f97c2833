/**
 * Self-check exercises for workshops (./exercise.ts): load, start, solve and reset an exercise folder.
 * Its checks are ./checks.ts (one kind per file under ./kinds), the attendee's progress ./progress.ts,
 * the instructor's report ./report.ts.
 *
 * @example
 * ```ts
 * import { listExercises, startExercise } from "./lib/exercise/mod.ts";
 *
 * const [first] = listExercises();
 * console.log((await startExercise(first)).task);
 * ```
 * @module
 */
export * from "./exercise.ts";
