//! `kind: expr`: arithmetic on columns, row by row (`(bb.upper - bb.lower) / bb.middle`,
//! freqAI's Bollinger width). Numbers, column names (a candle column or an earlier feature's
//! output), `+ - * /`, unary minus and parentheses, with the usual precedence. Row `i` reads row
//! `i` of each column only, so an expression is as causal as its columns.

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Number(f64),
    Column(String),
    Negate(Box<Expr>),
    Binary(char, Box<Expr>, Box<Expr>),
}

impl Expr {
    /// Parses `text`; the error names the position (counted in characters from 1).
    pub fn parse(text: &str) -> Result<Expr, String> {
        let tokens = tokenize(text)?;
        let mut p = Parser { tokens: &tokens, at: 0 };
        let e = p.sum()?;
        match p.tokens.get(p.at) {
            None => Ok(e),
            Some((pos, t)) => Err(format!("unexpected {} at character {pos}", t.describe())),
        }
    }

    /// The column names it reads, in order of appearance.
    pub fn columns(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out
    }

    fn collect<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Expr::Number(_) => {}
            Expr::Column(c) => out.push(c),
            Expr::Negate(e) => e.collect(out),
            Expr::Binary(_, a, b) => {
                a.collect(out);
                b.collect(out);
            }
        }
    }

    /// Row `i` of the expression over `n` rows; `column` gives each named column (every name of
    /// [`Expr::columns`] must resolve).
    pub fn eval<'a>(&self, n: usize, column: &impl Fn(&str) -> Option<&'a [f64]>) -> Vec<f64> {
        match self {
            Expr::Number(v) => vec![*v; n],
            Expr::Column(c) => column(c).map_or_else(|| vec![f64::NAN; n], <[f64]>::to_vec),
            Expr::Negate(e) => e.eval(n, column).into_iter().map(|v| -v).collect(),
            Expr::Binary(op, a, b) => {
                let (a, b) = (a.eval(n, column), b.eval(n, column));
                a.iter()
                    .zip(&b)
                    .map(|(x, y)| match op {
                        '+' => x + y,
                        '-' => x - y,
                        '*' => x * y,
                        _ => x / y,
                    })
                    .collect()
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Number(f64),
    Name(String),
    Symbol(char),
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Token::Number(v) => format!("number {v}"),
            Token::Name(n) => format!("name `{n}`"),
            Token::Symbol(c) => format!("`{c}`"),
        }
    }
}

/// Tokens with their 1-based character positions.
fn tokenize(text: &str) -> Result<Vec<(usize, Token)>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c.is_whitespace() {
            i += 1;
        } else if "+-*/()".contains(c) {
            out.push((start + 1, Token::Symbol(c)));
            i += 1;
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            while i < chars.len()
                && (chars[i].is_ascii_digit()
                    || chars[i] == '.'
                    || ((chars[i] == 'e' || chars[i] == 'E') && i > start)
                    || ((chars[i] == '-' || chars[i] == '+') && matches!(chars[i - 1], 'e' | 'E')))
            {
                i += 1;
            }
            let s: String = chars[start..i].iter().collect();
            let v =
                s.parse().map_err(|_| format!("bad number `{s}` at character {}", start + 1))?;
            out.push((start + 1, Token::Number(v)));
        } else if c.is_alphabetic() || c == '_' {
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '.')
            {
                i += 1;
            }
            out.push((start + 1, Token::Name(chars[start..i].iter().collect())));
        } else {
            return Err(format!("unexpected `{c}` at character {}", start + 1));
        }
    }
    Ok(out)
}

struct Parser<'a> {
    tokens: &'a [(usize, Token)],
    at: usize,
}

impl Parser<'_> {
    fn symbol(&self) -> Option<char> {
        match self.tokens.get(self.at) {
            Some((_, Token::Symbol(c))) => Some(*c),
            _ => None,
        }
    }

    fn sum(&mut self) -> Result<Expr, String> {
        let mut e = self.product()?;
        while let Some(op @ ('+' | '-')) = self.symbol() {
            self.at += 1;
            e = Expr::Binary(op, Box::new(e), Box::new(self.product()?));
        }
        Ok(e)
    }

    fn product(&mut self) -> Result<Expr, String> {
        let mut e = self.unary()?;
        while let Some(op @ ('*' | '/')) = self.symbol() {
            self.at += 1;
            e = Expr::Binary(op, Box::new(e), Box::new(self.unary()?));
        }
        Ok(e)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        if self.symbol() == Some('-') {
            self.at += 1;
            return Ok(Expr::Negate(Box::new(self.unary()?)));
        }
        let Some((pos, token)) = self.tokens.get(self.at) else {
            return Err("the expression ends early".into());
        };
        self.at += 1;
        match token {
            Token::Number(v) => Ok(Expr::Number(*v)),
            Token::Name(n) => Ok(Expr::Column(n.clone())),
            Token::Symbol('(') => {
                let e = self.sum()?;
                if self.symbol() != Some(')') {
                    return Err(format!("the `(` at character {pos} is not closed"));
                }
                self.at += 1;
                Ok(e)
            }
            t => Err(format!("unexpected {} at character {pos}", t.describe())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_and_columns() {
        let e = Expr::parse("(bb.upper - bb.lower) / bb.middle * 2 + -close").expect("parses");
        assert_eq!(e.columns(), ["bb.upper", "bb.lower", "bb.middle", "close"]);
        let cols = |name: &str| -> Option<&'static [f64]> {
            match name {
                "bb.upper" => Some(&[12.0, 5.0]),
                "bb.lower" => Some(&[8.0, 5.0]),
                "bb.middle" => Some(&[10.0, 0.0]),
                "close" => Some(&[1.0, 1.0]),
                _ => None,
            }
        };
        let v = e.eval(2, &cols);
        assert_eq!(v[0], (12.0 - 8.0) / 10.0 * 2.0 - 1.0);
        assert!(v[1].is_nan(), "0 / 0 is NaN: {}", v[1]);
        assert_eq!(
            Expr::parse("1.5e-3 * x").expect("number").eval(1, &|_| Some(&[2.0][..])),
            [0.003]
        );
    }

    #[test]
    fn errors_name_the_position() {
        assert_eq!(Expr::parse("close /").expect_err("refused"), "the expression ends early");
        assert_eq!(
            Expr::parse("(close").expect_err("refused"),
            "the `(` at character 1 is not closed"
        );
        assert_eq!(Expr::parse("close $ 2").expect_err("refused"), "unexpected `$` at character 7");
        assert_eq!(
            Expr::parse("close 2").expect_err("refused"),
            "unexpected number 2 at character 7"
        );
    }
}
