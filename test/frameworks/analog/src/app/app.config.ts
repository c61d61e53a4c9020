import type { ApplicationConfig } from '@angular/core'
import { provideClientHydration } from '@angular/platform-browser'
import { provideRouter } from '@angular/router'
import { About, Home } from './app'

export const appConfig: ApplicationConfig = {
  providers: [
    provideRouter([
      { path: '', component: Home },
      { path: 'about', component: About },
    ]),
    provideClientHydration(),
  ],
}
