import { Component } from '@angular/core'
import { RouterLink, RouterOutlet } from '@angular/router'

@Component({
  selector: 'app-root',
  imports: [RouterOutlet, RouterLink],
  template: '<nav><a routerLink="/">Home</a> <a routerLink="/about">About</a></nav><router-outlet />',
})
export class App {}

@Component({ selector: 'app-home', template: '<h1>Home</h1><p>The Analog fixture.</p>' })
export class Home {}

@Component({ selector: 'app-about', template: '<h1>About</h1><p>A prerendered page.</p>' })
export class About {}
