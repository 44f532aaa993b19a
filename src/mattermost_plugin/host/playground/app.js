// The playground's page: see index.html. Filled in by the following commits.
window.playground = { currentUser: () => null, onEvent: () => () => {} };
