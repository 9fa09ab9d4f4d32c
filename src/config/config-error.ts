// The one error start-up throws for bad configuration. It carries every problem at once so an
// operator fixes the Deployment in one round trip instead of one crash loop per variable.

export interface ConfigProblem {
  readonly variable: string;
  readonly message: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** The first offending variable; `problems` lists all of them. */
  readonly variable: string;
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    const first = problems[0];
    if (first === undefined) throw new TypeError('ConfigError needs at least one problem');
    super(
      problems.length === 1
        ? first.message
        : `${problems.length} configuration problems: ${problems.map((p) => p.message).join('; ')}`,
    );
    this.variable = first.variable;
    this.problems = Object.freeze([...problems]);
  }

  get variables(): string[] {
    return [...new Set(this.problems.map((p) => p.variable))];
  }
}
