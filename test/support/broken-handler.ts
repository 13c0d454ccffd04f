/** A handler module whose import fails, as a broken deployment's init does. */
throw new Error('this module cannot load');
