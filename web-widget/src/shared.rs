//! A shared value compared by identity, for props that carry large data.

use std::ops::Deref;
use std::rc::Rc;

/// An `Rc` whose equality is pointer identity. Yew compares props on every render of
/// the parent; comparing a call's thousands of utterances field by field each time
/// would cost more than redrawing, and the data never changes behind one `Rc`.
#[derive(Debug, Default)]
pub struct Shared<T>(pub Rc<T>);

impl<T> Shared<T> {
    pub fn new(value: T) -> Self {
        Self(Rc::new(value))
    }
}

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Self(Rc::clone(&self.0))
    }
}

impl<T> PartialEq for Shared<T> {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl<T> Deref for Shared<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}
