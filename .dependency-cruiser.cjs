/**
 * Layering rules for Edgeport (hexagonal: domain <- application <- adapters <- infrastructure).
 * They run on the compiled JavaScript in dist/ (TypeScript 7 has no compiler API for
 * dependency-cruiser to use), so they see exactly the imports that exist at run time: `import type`
 * is erased and does not count. Run: `npm run lint:layers` (after `npm run build`); `npm test` runs it.
 * See docs/architecture.md.
 */

/** Compiled layer folders. */
const DOMAIN = '^dist/domain/';
const APPLICATION = '^dist/application/';
const ADAPTERS = '^dist/adapters/';
const INFRASTRUCTURE = '^dist/infrastructure/';
const TESTS = '^dist/test/';
/** An npm package, wherever node_modules sits (symlinks are preserved, see options). */
const pkg = (name) => `(^|/)node_modules/${name}/`;

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'domain-is-pure',
      comment:
        'domain/ is pure logic: it may import only domain/. No node: core modules (no I/O), no npm ' +
        'packages, no application/adapters/infrastructure. (domain/routing has one exception, ' +
        'see domain-is-pure-routing-uses-chevrotain.)',
      severity: 'error',
      from: { path: DOMAIN, pathNot: '^dist/domain/routing/' },
      to: { pathNot: DOMAIN },
    },
    {
      name: 'domain-is-pure-routing-uses-chevrotain',
      comment:
        'domain-is-pure for domain/routing, with its one narrow exception: the route parser is ' +
        'built on the chevrotain parser library (pure, no I/O). Nothing else outside domain/.',
      severity: 'error',
      from: { path: '^dist/domain/routing/' },
      to: { pathNot: [DOMAIN, pkg('chevrotain')] },
    },
    {
      name: 'application-imports-domain-only',
      comment:
        'application/ (use cases and ports) may import domain/, application/ and the inversify ' +
        'package (for @injectable decorators) only: no node: core modules, no other packages, no ' +
        'adapters or infrastructure. I/O happens behind ports that adapters implement.',
      severity: 'error',
      from: { path: APPLICATION },
      to: { pathNot: [DOMAIN, APPLICATION, pkg('inversify')] },
    },
    {
      name: 'adapters-do-not-import-each-other',
      comment:
        'An adapter family (adapters/<x>/) must not import another one (adapters/<y>/): adapters ' +
        'meet only through application ports, wired together in infrastructure/.',
      severity: 'error',
      from: { path: '^dist/adapters/([^/]+)/' },
      to: { path: ADAPTERS, pathNot: '^dist/adapters/$1/' },
    },
    {
      name: 'only-infrastructure-imports-adapters',
      comment:
        'Concrete adapters are named only by the composition root (infrastructure/) and by tests. ' +
        'Adapters importing their own family is covered by adapters-do-not-import-each-other.',
      severity: 'error',
      from: { pathNot: [INFRASTRUCTURE, TESTS, ADAPTERS] },
      to: { path: ADAPTERS },
    },
    {
      name: 'no-circular',
      comment:
        'No import cycles. These are run-time (ES module) cycles, since type-only imports are ' +
        'erased: they make module evaluation order matter (a class used before its module ran).',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'Every import must resolve to a file or an installed package (check the .js suffix).',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'not-to-undeclared-package',
      comment: 'Every npm package imported must be declared in package.json (dependencies).',
      severity: 'error',
      from: { path: '^dist/', pathNot: TESTS },
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown', 'npm-dev'] },
    },
  ],
  options: {
    // Report packages as dependencies but do not descend into them.
    doNotFollow: { path: 'node_modules' },
    // Declaration files and source maps are not code.
    exclude: { path: '\\.(d\\.ts|map)$' },
    // Keep `node_modules/<pkg>` paths even where node_modules is a symlink (worktrees share one).
    preserveSymlinks: true,
    // The inputs are compiled JavaScript: no TypeScript pre-compilation analysis.
    tsPreCompilationDeps: false,
    moduleSystems: ['es6', 'cjs'],
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
      mainFields: ['module', 'main'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
