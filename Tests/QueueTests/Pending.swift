import Testing  // tests arrive with the queue foundation branch
