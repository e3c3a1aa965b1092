//! The sample app `zeppelin new` writes: the files of `examples/shop`, built into the
//! binary, with the app's name put in place of `shop`.
//!
//! Keeping one copy (the example) means the sample users get is the one the tests run.

/// A file of the sample, by path relative to the app folder.
pub(crate) struct SampleFile {
    pub(crate) path: &'static str,
    contents: &'static str,
    /// Whether `shop` in the contents names the app (and is replaced by the new name).
    names_app: bool,
}

impl SampleFile {
    /// The file's contents for an app called `name`.
    pub(crate) fn contents_for(&self, name: &str) -> String {
        if self.names_app {
            self.contents
                .replace("name = \"shop\"", &format!("name = \"{name}\""))
                .replace("shop.localhost", &format!("{name}.localhost"))
                .replace("image = \"shop-", &format!("image = \"{name}-"))
                .replace(" shop-", &format!(" {name}-"))
        } else {
            self.contents.to_owned()
        }
    }
}

macro_rules! sample {
    ($path:literal, $names_app:literal) => {
        SampleFile {
            path: $path,
            contents: include_str!(concat!("../../../examples/shop/", $path)),
            names_app: $names_app,
        }
    };
}

/// Every file of the sample app.
pub(crate) const FILES: &[SampleFile] = &[
    sample!("zeppelin.toml", true),
    sample!("app/api.py", false),
    sample!("app/web.py", false),
    sample!("app/worker.py", false),
    sample!("app/migrate.py", false),
    sample!("app/cleanup.py", false),
    sample!("Dockerfile", true),
    sample!(".gitignore", false),
    sample!("log/.gitkeep", false),
];
